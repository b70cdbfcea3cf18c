import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import type { Readable, Transform } from "node:stream";
import { TextDecoder } from "node:util";

/*
 * The little HTTP that the routes need on top of node:http: a JSON answer and a bounded JSON body.
 * The body rules are body-parser's (what express.json() did here before), so clients see the same
 * answers: only `application/json` is read, an empty body is {}, the top level must be an object or an
 * array, gzip/deflate/br bodies are inflated (the limit counts the inflated bytes), a charset other than
 * UTF-* is refused.
 */

/** A refusal of the request itself, answered before it reaches a route's logic. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const JSON_TYPE = "application/json; charset=utf-8";

/** Writes `value` as the whole JSON answer, with `headers` (X-Content-Type-Options and the like). */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: OutgoingHttpHeaders): void {
  headers["content-type"] = JSON_TYPE;
  sendText(res, status, JSON.stringify(value), headers);
}

/** Writes `text` as the whole answer, with Content-Length; on HEAD node sends the headers only. */
export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders): void {
  headers["content-length"] = Buffer.byteLength(text);
  res.writeHead(status, headers);
  res.end(text);
}

/** Whether the request carries a body at all (type-is's hasBody). */
function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || !Number.isNaN(Number.parseInt(req.headers["content-length"] ?? "", 10));
}

/** The media type of a Content-Type header, lower-cased, without parameters; and its charset, if any. */
function mediaType(header: string): { type: string; charset: string | undefined } {
  const semicolon = header.indexOf(";");
  const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
  if (semicolon === -1) return { type, charset: undefined };
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(header.slice(semicolon))?.[1]?.toLowerCase();
  return { type, charset };
}

function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  const inflate =
    encoding === "identity"
      ? undefined
      : encoding === "gzip"
        ? createGunzip()
        : encoding === "deflate"
          ? createInflate()
          : encoding === "br"
            ? createBrotliDecompress()
            : null;
  if (inflate === null) throw new HttpError(415, `unsupported content encoding "${encoding}"`);
  return inflate ? req.pipe(inflate) : req;
}

/**
 * The parsed JSON body, or undefined when there is none or it is not `application/json` (the GraphQL
 * layer then says what is missing). Rejects with an HttpError: 413 past `limit` bytes, 400 for broken
 * JSON or a body that ends early, 415 for an encoding or charset it cannot read. A refused body is read
 * to its end before the answer, so the client is not cut off while it still sends.
 */
export function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  if (!hasBody(req)) return Promise.resolve(undefined);
  const contentType = req.headers["content-type"];
  if (contentType === undefined) return Promise.resolve(undefined);
  const { type, charset } = mediaType(contentType);
  if (type !== "application/json") return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const refuse = (error: HttpError) => {
      if (req.readableEnded || req.destroyed) return reject(error);
      req.once("end", () => reject(error));
      req.once("close", () => reject(error));
      req.resume();
    };
    let decoder: TextDecoder | undefined;
    if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
      try {
        if (!charset.startsWith("utf-")) throw new RangeError(charset);
        decoder = new TextDecoder(charset);
      } catch {
        return refuse(new HttpError(415, `unsupported charset "${charset.toUpperCase()}"`));
      }
    }
    const declared = Number.parseInt(req.headers["content-length"] ?? "", 10);
    if (declared > limit && req.headers["content-encoding"] === undefined) return refuse(new HttpError(413, "request entity too large"));
    let stream: Readable;
    try {
      stream = decoded(req);
    } catch (err) {
      return refuse(err as HttpError);
    }
    const chunks: Buffer[] = [];
    let length = 0;
    let settled = false;
    const fail = (error: HttpError) => {
      if (settled) return;
      settled = true;
      stream.removeAllListeners("data");
      if (stream !== req) {
        req.unpipe(stream as Transform);
        stream.destroy();
      }
      refuse(error);
    };
    stream.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) return fail(new HttpError(413, "request entity too large"));
      chunks.push(chunk);
    });
    stream.once("error", () => fail(new HttpError(400, "request body could not be read")));
    req.once("close", () => {
      if (!req.complete) fail(new HttpError(400, "request aborted"));
    });
    stream.once("end", () => {
      if (settled) return;
      settled = true;
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length);
      let text = decoder ? decoder.decode(bytes) : bytes.toString("utf8");
      // A UTF-8 byte order mark is no JSON, but body-parser (iconv-lite) dropped it.
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      try {
        resolve(parseStrictJson(text));
      } catch {
        reject(new HttpError(400, "request body is not valid JSON"));
      }
    });
  });
}

/** body-parser's strict mode: "" is {}, otherwise the top level is an object or an array. */
function parseStrictJson(text: string): unknown {
  if (text.length === 0) return {};
  let i = 0;
  // JSON's whitespace: space, tab, line feed, carriage return.
  while (i < text.length && " \t\n\r".includes(text[i]!)) i += 1;
  if (text[i] !== "{" && text[i] !== "[") throw new SyntaxError("not an object or array");
  return JSON.parse(text) as unknown;
}

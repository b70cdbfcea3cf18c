/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "mutation StartTotpSetup($currentPassword: String!) {\n  startTotpSetup(currentPassword: $currentPassword) {\n    secret\n    otpauthUri\n  }\n}\n\nmutation ConfirmTotpSetup($code: String!) {\n  confirmTotpSetup(code: $code)\n}\n\nmutation LoginMfa($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nmutation VerifyMfa($code: String!) {\n  verifyMfa(code: $code) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nquery MyMfa {\n  me {\n    id\n    mfa {\n      totpEnabled\n      recoveryCodesLeft\n    }\n  }\n}\n\nquery MySessionIds {\n  mySessions {\n    id\n    current\n  }\n}": typeof types.StartTotpSetupDocument,
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    id\n    email\n    role\n    emailVerified\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    fullName\n    role\n    stats {\n      loginCount\n      activeSessions\n      passwordChangedAt\n    }\n  }\n}\n\nmutation Refresh($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Tokens\n  }\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...Tokens\n  }\n}\n\nfragment Tokens on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    id\n    email\n  }\n}": typeof types.RegisterDocument,
};
const documents: Documents = {
    "mutation StartTotpSetup($currentPassword: String!) {\n  startTotpSetup(currentPassword: $currentPassword) {\n    secret\n    otpauthUri\n  }\n}\n\nmutation ConfirmTotpSetup($code: String!) {\n  confirmTotpSetup(code: $code)\n}\n\nmutation LoginMfa($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nmutation VerifyMfa($code: String!) {\n  verifyMfa(code: $code) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nquery MyMfa {\n  me {\n    id\n    mfa {\n      totpEnabled\n      recoveryCodesLeft\n    }\n  }\n}\n\nquery MySessionIds {\n  mySessions {\n    id\n    current\n  }\n}": types.StartTotpSetupDocument,
    "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    id\n    email\n    role\n    emailVerified\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    fullName\n    role\n    stats {\n      loginCount\n      activeSessions\n      passwordChangedAt\n    }\n  }\n}\n\nmutation Refresh($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Tokens\n  }\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...Tokens\n  }\n}\n\nfragment Tokens on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    id\n    email\n  }\n}": types.RegisterDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation StartTotpSetup($currentPassword: String!) {\n  startTotpSetup(currentPassword: $currentPassword) {\n    secret\n    otpauthUri\n  }\n}\n\nmutation ConfirmTotpSetup($code: String!) {\n  confirmTotpSetup(code: $code)\n}\n\nmutation LoginMfa($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nmutation VerifyMfa($code: String!) {\n  verifyMfa(code: $code) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nquery MyMfa {\n  me {\n    id\n    mfa {\n      totpEnabled\n      recoveryCodesLeft\n    }\n  }\n}\n\nquery MySessionIds {\n  mySessions {\n    id\n    current\n  }\n}"): (typeof documents)["mutation StartTotpSetup($currentPassword: String!) {\n  startTotpSetup(currentPassword: $currentPassword) {\n    secret\n    otpauthUri\n  }\n}\n\nmutation ConfirmTotpSetup($code: String!) {\n  confirmTotpSetup(code: $code)\n}\n\nmutation LoginMfa($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nmutation VerifyMfa($code: String!) {\n  verifyMfa(code: $code) {\n    ...Tokens\n    mfaRequired\n  }\n}\n\nquery MyMfa {\n  me {\n    id\n    mfa {\n      totpEnabled\n      recoveryCodesLeft\n    }\n  }\n}\n\nquery MySessionIds {\n  mySessions {\n    id\n    current\n  }\n}"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    id\n    email\n    role\n    emailVerified\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    fullName\n    role\n    stats {\n      loginCount\n      activeSessions\n      passwordChangedAt\n    }\n  }\n}\n\nmutation Refresh($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Tokens\n  }\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...Tokens\n  }\n}\n\nfragment Tokens on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    id\n    email\n  }\n}"): (typeof documents)["mutation Register($input: RegisterInput!) {\n  register(input: $input) {\n    id\n    email\n    role\n    emailVerified\n  }\n}\n\nmutation Login($input: LoginInput!) {\n  login(input: $input) {\n    ...Tokens\n  }\n}\n\nquery Me {\n  me {\n    id\n    email\n    fullName\n    role\n    stats {\n      loginCount\n      activeSessions\n      passwordChangedAt\n    }\n  }\n}\n\nmutation Refresh($refreshToken: String!) {\n  refreshToken(refreshToken: $refreshToken) {\n    ...Tokens\n  }\n}\n\nmutation ChangePassword($input: ChangePasswordInput!) {\n  changePassword(input: $input) {\n    ...Tokens\n  }\n}\n\nfragment Tokens on AuthPayload {\n  accessToken\n  refreshToken\n  expiresIn\n  user {\n    id\n    email\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;
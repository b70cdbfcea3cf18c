import { Field, Int, ObjectType } from "type-graphql";

@ObjectType({ description: "An account's second factors, as the account and admins see them." })
export class MfaStatus {
  @Field(() => Boolean, { description: "TOTP is on: a password login opens a pending session that verifyMfa completes." })
  totpEnabled!: boolean;

  @Field(() => Int, { description: "Unused recovery codes (0 when TOTP is off)." })
  recoveryCodesLeft!: number;
}

@ObjectType({ description: "A TOTP secret waiting for confirmTotpSetup: show it as a QR code of otpauthUri, or as text." })
export class TotpSetup {
  @Field(() => String, { description: "The base32 secret, for typing into an authenticator app by hand." })
  secret!: string;

  @Field(() => String, { description: "otpauth://totp/<issuer>:<email>?secret=…&issuer=<issuer>, for a QR code." })
  otpauthUri!: string;
}

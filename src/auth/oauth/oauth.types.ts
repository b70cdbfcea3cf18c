import { Field, GraphQLISODateTime, ID, ObjectType } from "type-graphql";

@ObjectType({
  description: "A started social-login flow: send the browser to authorizationUrl and keep flowId (e.g. in sessionStorage) for the callback page.",
})
export class OAuthStart {
  @Field(() => String, { description: "The provider's authorization URL (PKCE S256, state and nonce of this flow). Valid for 10 minutes." })
  authorizationUrl!: string;

  @Field(() => ID, { description: "Names this flow: completeOAuthLogin / completeOAuthLink need it, so only the browser that started the flow can finish it." })
  flowId!: string;
}

@ObjectType({ description: "A provider account linked to a user: (issuer, subject) identifies it, never the email." })
export class Identity {
  @Field(() => ID, { description: "Pass it to unlinkIdentity." })
  id!: string;

  @Field(() => String, { description: "The provider's name, as oauthProviders lists it (e.g. google, github)." })
  provider!: string;

  @Field(() => String, { description: "The provider's stable id of the person (OpenID sub; GitHub's numeric user id)." })
  subject!: string;

  @Field(() => String, { nullable: true, description: "The email the provider gave when the identity was linked (display only; null when it gave none)." })
  email!: string | null;

  @Field(() => GraphQLISODateTime, { description: "When the identity was linked." })
  createdAt!: Date;
}

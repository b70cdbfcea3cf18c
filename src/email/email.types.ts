import { Field, InputType } from "type-graphql";

@InputType()
export class ResetPasswordInput {
  @Field(() => String, { description: "The token from the reset link." })
  token!: string;

  @Field(() => String)
  newPassword!: string;
}

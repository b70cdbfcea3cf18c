import { Field, InputType } from "type-graphql";

@InputType()
export class UpdateMeInput {
  @Field(() => String, { nullable: true })
  fullName?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "A new address: it goes to pendingEmail and a confirmation link is sent there; email changes when verifyEmail gets that link's token. Your current address cancels a pending change.",
  })
  email?: string | null;
}

@InputType()
export class ChangePasswordInput {
  @Field(() => String)
  currentPassword!: string;

  @Field(() => String)
  newPassword!: string;
}

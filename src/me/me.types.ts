import { Field, InputType } from "type-graphql";

@InputType()
export class UpdateMeInput {
  @Field(() => String, { nullable: true })
  fullName?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "A new address: it goes to pendingEmail and a confirmation link is sent there; " +
      "email changes when verifyEmail gets that link's token. Your current address cancels a pending change.",
  })
  email?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      "The caller's current password. Required with a new email (a wrong or missing one is BAD_USER_INPUT on currentPassword); " +
      "not needed for a name change or to cancel a pending change.",
  })
  currentPassword?: string | null;
}

@InputType()
export class ChangePasswordInput {
  @Field(() => String)
  currentPassword!: string;

  @Field(() => String)
  newPassword!: string;
}

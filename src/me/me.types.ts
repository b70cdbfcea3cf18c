import { Field, InputType } from "type-graphql";

@InputType({ description: "Changes to the caller's own profile. A field left out or null stays as it is." })
export class UpdateMeInput {
  @Field(() => String, { nullable: true, description: "A new display name: 1 to 100 characters, applied at once." })
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

@InputType({ description: "The password now and the one to set." })
export class ChangePasswordInput {
  @Field(() => String, { description: "The caller's current password; a wrong one is BAD_USER_INPUT on currentPassword." })
  currentPassword!: string;

  @Field(() => String, {
    description: "8 to 128 characters, not the current one; weak, common or email-derived passwords are refused (BAD_USER_INPUT on newPassword).",
  })
  newPassword!: string;
}

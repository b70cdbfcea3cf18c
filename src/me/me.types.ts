import { Field, InputType } from "type-graphql";

@InputType()
export class UpdateMeInput {
  @Field(() => String, { nullable: true })
  fullName?: string | null;
}

@InputType()
export class ChangePasswordInput {
  @Field(() => String)
  currentPassword!: string;

  @Field(() => String)
  newPassword!: string;
}

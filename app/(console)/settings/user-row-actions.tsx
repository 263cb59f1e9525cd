"use client";

import { useAction } from "next-safe-action/hooks";
import { Button } from "@/components/ui/button";
import { Select } from "@/components/ui/form";
import { ROLES, type Role } from "@/lib/auth/permissions";
import { changeRoleAction, revokeSessionsAction, setDisabledAction } from "./actions";

export function UserRowActions({ userId, role, disabled, self }: { userId: string; role: string; disabled: boolean; self: boolean }) {
  const changeRole = useAction(changeRoleAction);
  const toggle = useAction(setDisabledAction);
  const revoke = useAction(revokeSessionsAction);
  const error = changeRole.result.serverError ?? toggle.result.serverError ?? revoke.result.serverError;
  if (self) return <span className="text-xs muted">you</span>;
  return (
    <div className="flex flex-wrap items-center gap-2">
      <Select aria-label="Role" defaultValue={role} disabled={changeRole.isPending} onChange={(event) => changeRole.execute({ userId, role: event.target.value as Role })}>
        {ROLES.map((option) => (
          <option key={option}>{option}</option>
        ))}
      </Select>
      <Button
        variant={disabled ? "secondary" : "danger"}
        disabled={toggle.isPending}
        onClick={() => {
          if (disabled || window.confirm("Disable this account? Its open sessions end now.")) toggle.execute({ userId, disabled: !disabled });
        }}
      >
        {disabled ? "Enable" : "Disable"}
      </Button>
      <Button variant="secondary" disabled={revoke.isPending} onClick={() => revoke.execute({ userId })}>
        End sessions
      </Button>
      {error && (
        <span role="alert" className="text-xs text-red-600">
          {error}
        </span>
      )}
    </div>
  );
}

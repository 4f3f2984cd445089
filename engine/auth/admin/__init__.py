"""Administration of identity: users (their roles, teams and tokens), teams and roles. Every service
method takes the connection and the acting Access, refuses non-administrators, and writes its change
to the audit journal in the same transaction."""

from engine.auth.admin.base import AdminService, require_admin
from engine.auth.admin.invitations import InvitationAdmin, InviteIn
from engine.auth.admin.roles import RoleAdmin
from engine.auth.admin.teams import TeamAdmin, TeamIn, TeamPatch
from engine.auth.admin.users import MembershipIn, RolesIn, UserAdmin, UserIn, UserPatch

__all__ = [
    "AdminService", "InvitationAdmin", "InviteIn", "MembershipIn", "RoleAdmin", "RolesIn", "TeamAdmin", "TeamIn",
    "TeamPatch", "UserAdmin", "UserIn", "UserPatch", "require_admin",
]  # fmt: skip

"""What each subscription plan includes. Choosing a plan sets these limits; a platform admin may
still give one company other limits (an override), never below what the company already uses."""

from dataclasses import dataclass

from companies.models import Company


@dataclass(frozen=True)
class PlanLimits:
    max_users: int  # active users (agents and admins)
    max_channels: int  # active inboxes


PLAN_LIMITS: dict[str, PlanLimits] = {
    Company.Plan.BASIC: PlanLimits(max_users=5, max_channels=3),
    Company.Plan.PRO: PlanLimits(max_users=25, max_channels=10),
    Company.Plan.ENTERPRISE: PlanLimits(max_users=250, max_channels=50),
}


def plan_limits(plan: str) -> PlanLimits:
    return PLAN_LIMITS[plan]


def describe_plans() -> str:
    """The plans and their limits in one line ("Basic 5 users, 3 inboxes; Pro ..."), for help
    texts."""
    return "; ".join(
        f"{Company.Plan(plan).label} {limits.max_users} users, {limits.max_channels} inboxes"
        for plan, limits in PLAN_LIMITS.items()
    )

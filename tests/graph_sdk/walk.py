"""Eligo driven by Microsoft's Graph SDK for Python (msgraph-sdk), unchanged but for its base URL.

Run by tests/it/process/graph_sdk.rs against `eligo serve --demo`:
    python3 walk.py <base URL ending in /v1> <bearer token of a Global Administrator>
Each step asserts what a Graph client relies on; the first failure exits non-zero with the
SDK's error (status and Eligo's message).
"""

import asyncio
import datetime
import sys
from urllib.parse import urlparse

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.identity_governance.entitlement_management.access_packages.item.access_package_item_request_builder import (
    AccessPackageItemRequestBuilder,
)
from msgraph.generated.models.access_package import AccessPackage
from msgraph.generated.models.access_package_answer_string import AccessPackageAnswerString
from msgraph.generated.models.access_package_assignment import AccessPackageAssignment
from msgraph.generated.models.access_package_assignment_approval_settings import (
    AccessPackageAssignmentApprovalSettings,
)
from msgraph.generated.models.access_package_assignment_policy import AccessPackageAssignmentPolicy
from msgraph.generated.models.access_package_assignment_request import AccessPackageAssignmentRequest
from msgraph.generated.models.access_package_assignment_requestor_settings import (
    AccessPackageAssignmentRequestorSettings,
)
from msgraph.generated.models.access_package_catalog import AccessPackageCatalog
from msgraph.generated.models.access_package_question import AccessPackageQuestion
from msgraph.generated.models.access_package_request_type import AccessPackageRequestType
from msgraph.generated.models.access_package_resource import AccessPackageResource
from msgraph.generated.models.access_package_resource_request import AccessPackageResourceRequest
from msgraph.generated.models.access_package_resource_role import AccessPackageResourceRole
from msgraph.generated.models.access_package_resource_role_scope import AccessPackageResourceRoleScope
from msgraph.generated.models.access_package_resource_scope import AccessPackageResourceScope
from msgraph.generated.models.access_package_text_input_question import AccessPackageTextInputQuestion
from msgraph.generated.models.allowed_target_scope import AllowedTargetScope
from msgraph.generated.models.expiration_pattern import ExpirationPattern
from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
from msgraph.generated.models.group import Group
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.request_schedule import RequestSchedule
from msgraph.generated.models.unified_role_eligibility_schedule_request import (
    UnifiedRoleEligibilityScheduleRequest,
)
from msgraph.generated.models.unified_role_schedule_request_actions import (
    UnifiedRoleScheduleRequestActions,
)
from msgraph.generated.role_management.directory.role_definitions.role_definitions_request_builder import (
    RoleDefinitionsRequestBuilder,
)
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph.generated.groups.groups_request_builder import GroupsRequestBuilder
from msgraph.generated.identity_governance.access_reviews.definitions.item.instances.item.batch_record_decisions.batch_record_decisions_post_request_body import (
    BatchRecordDecisionsPostRequestBody,
)
from msgraph.generated.models.access_review_query_scope import AccessReviewQueryScope
from msgraph.generated.models.access_review_reviewer_scope import AccessReviewReviewerScope
from msgraph.generated.models.access_review_schedule_definition import AccessReviewScheduleDefinition
from msgraph.generated.models.access_review_schedule_settings import AccessReviewScheduleSettings
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType

BASE, TOKEN = sys.argv[1], sys.argv[2]


class StaticToken(AccessTokenProvider):
    def __init__(self, token):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([urlparse(BASE).netloc])


def client(token):
    adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)))
    adapter.base_url = BASE
    return GraphServiceClient(request_adapter=adapter)


def step(name):
    print(f"ok: {name}", flush=True)


async def user_named(g, upn):
    q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=f"userPrincipalName eq '{upn}'"
    )
    found = await g.users.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert len(found.value) == 1, found.value
    return found.value[0]


async def pim(g):
    erin = await user_named(g, "erin@contoso.example")
    q = RoleDefinitionsRequestBuilder.RoleDefinitionsRequestBuilderGetQueryParameters(
        filter="displayName eq 'Helpdesk Administrator'"
    )
    defs = await g.role_management.directory.role_definitions.get(
        request_configuration=RequestConfiguration(query_parameters=q)
    )
    assert len(defs.value) == 1, defs.value
    role = defs.value[0]
    # The SDK sends a timedelta as str(timedelta) ("30 days, 0:00:00") and datetimes with
    # microseconds and an offset.
    made = await g.role_management.directory.role_eligibility_schedule_requests.post(
        UnifiedRoleEligibilityScheduleRequest(
            action=UnifiedRoleScheduleRequestActions.AdminAssign,
            principal_id=erin.id,
            role_definition_id=role.id,
            directory_scope_id="/",
            justification="Graph SDK walk",
            schedule_info=RequestSchedule(
                start_date_time=datetime.datetime.now(datetime.timezone.utc),
                expiration=ExpirationPattern(
                    type=ExpirationPatternType.AfterDuration,
                    duration=datetime.timedelta(days=30),
                ),
            ),
        )
    )
    assert made.status == "Provisioned", made.status
    # scheduleInfo is the schedule as granted (Eligo fixes the end); what was asked stays in
    # requestedScheduleInfo.
    # The 30 days count from when the server granted it, a moment after the start sent.
    granted = made.schedule_info
    length = granted.expiration.end_date_time - granted.start_date_time
    assert datetime.timedelta(days=30) <= length < datetime.timedelta(days=30, minutes=1), granted
    step("roleEligibilityScheduleRequests adminAssign with a timedelta duration")
    schedules = await g.role_management.directory.role_eligibility_schedules.get()
    mine = [s for s in schedules.value if s.principal_id == erin.id and s.role_definition_id == role.id]
    assert len(mine) == 1, schedules.value
    step("roleEligibilitySchedules lists it")


async def entitlement(g):
    em = g.identity_governance.entitlement_management
    catalog = await em.catalogs.post(AccessPackageCatalog(display_name="SDK catalog", description="Made by the Graph SDK"))
    assert catalog.state is not None and catalog.catalog_type is not None
    group = await g.groups.post(
        Group(display_name="SDK group", mail_enabled=False, mail_nickname="sdkgroup", security_enabled=True)
    )
    added = await em.resource_requests.post(
        AccessPackageResourceRequest(
            request_type=AccessPackageRequestType.AdminAdd,
            resource=AccessPackageResource(origin_id=group.id, origin_system="AadGroup"),
            catalog=AccessPackageCatalog(id=catalog.id),
        )
    )
    assert added.state.value == "delivered", added.state
    by_catalog = em.catalogs.by_access_package_catalog_id(catalog.id)
    resources = (await by_catalog.resources.get()).value
    assert [r.origin_id for r in resources] == [group.id]
    roles = (await by_catalog.resource_roles.get()).value
    member = next(r for r in roles if r.origin_id == f"Member_{group.id}")
    step("catalog, resourceRequests adminAdd, resources, resourceRoles")

    package = await em.access_packages.post(
        AccessPackage(display_name="SDK package", description="Membership", catalog=AccessPackageCatalog(id=catalog.id))
    )
    by_package = em.access_packages.by_access_package_id(package.id)
    scope = await by_package.resource_role_scopes.post(
        AccessPackageResourceRoleScope(
            role=AccessPackageResourceRole(
                origin_id=member.origin_id,
                origin_system="AadGroup",
                resource=AccessPackageResource(id=resources[0].id),
            ),
            scope=AccessPackageResourceScope(origin_id=group.id, origin_system="AadGroup", is_root_scope=True),
        )
    )
    q = AccessPackageItemRequestBuilder.AccessPackageItemRequestBuilderGetQueryParameters(
        expand=["resourceRoleScopes($expand=role,scope)"]
    )
    expanded = await by_package.get(request_configuration=RequestConfiguration(query_parameters=q))
    assert [(s.role.origin_id, s.scope.origin_id) for s in expanded.resource_role_scopes] == [
        (member.origin_id, group.id)
    ]
    step("accessPackages, resourceRoleScopes, $expand=resourceRoleScopes($expand=role,scope)")

    question = AccessPackageTextInputQuestion(
        odata_type="#microsoft.graph.accessPackageTextInputQuestion",
        id="ticket",
        sequence=1,
        text="Which ticket asks for this?",
        is_required=True,
        is_single_line_question=True,
        regex_pattern="^T-[0-9]+$",
    )
    policy = await em.assignment_policies.post(
        AccessPackageAssignmentPolicy(
            display_name="SDK policy",
            description="Self-service for members",
            access_package=AccessPackage(id=package.id),
            allowed_target_scope=AllowedTargetScope.AllMemberUsers,
            expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration=datetime.timedelta(days=7)),
            requestor_settings=AccessPackageAssignmentRequestorSettings(
                enable_targets_to_self_add_access=True,
                enable_targets_to_self_remove_access=True,
                enable_targets_to_self_update_access=True,
            ),
            request_approval_settings=AccessPackageAssignmentApprovalSettings(
                is_approval_required_for_add=False,
                is_approval_required_for_update=False,
                is_requestor_justification_required=True,
            ),
            questions=[question],
        )
    )
    assert policy.expiration.duration == datetime.timedelta(days=7), policy.expiration.duration
    assert isinstance(policy.questions[0], AccessPackageTextInputQuestion), policy.questions
    step("assignmentPolicies with a question and a timedelta expiration")

    requirements = (await by_package.get_applicable_policy_requirements.post()).value
    assert [r.policy_id for r in requirements] == [policy.id], requirements
    allowed = (await em.access_packages.filter_by_current_user_with_on("allowedRequestor").get()).value
    assert package.id in [p.id for p in allowed]
    step("getApplicablePolicyRequirements and filterByCurrentUser(on='allowedRequestor')")

    me = await g.me.get()

    def ask(answer):
        return em.assignment_requests.post(
            AccessPackageAssignmentRequest(
                request_type=AccessPackageRequestType.AdminAdd,
                justification="Graph SDK walk",
                # Not declared on the assignment resource, but what the SDK samples send.
                assignment=AccessPackageAssignment(
                    additional_data={"targetId": me.id, "assignmentPolicyId": policy.id, "accessPackageId": package.id}
                ),
                answers=[
                    AccessPackageAnswerString(
                        odata_type="#microsoft.graph.accessPackageAnswerString",
                        value=answer,
                        answered_question=AccessPackageQuestion(
                            odata_type="#microsoft.graph.accessPackageTextInputQuestion", id="ticket"
                        ),
                    )
                ],
            )
        )

    try:
        await ask("not a ticket")
        raise AssertionError("an answer not matching regexPattern was accepted")
    except ODataError as e:
        assert e.response_status_code == 400, e
    step("an answer not matching the question's pattern is a 400 ODataError")

    request = await ask("T-42")
    assert request.state.value == "delivered", request.state
    assert request.request_type == AccessPackageRequestType.AdminAdd
    members = (await g.groups.by_group_id(group.id).members.get()).value
    assert [m.id for m in members] == [me.id]
    assignments = (await em.assignments.get()).value
    assignment = next(a for a in assignments if a.state.value == "delivered")
    end = assignment.schedule.expiration.end_date_time
    assert end is not None and end > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=6)
    step("assignmentRequests adminAdd delivers the membership; assignments read back")

    removal = await em.assignment_requests.post(
        AccessPackageAssignmentRequest(
            request_type=AccessPackageRequestType.AdminRemove,
            assignment=AccessPackageAssignment(id=assignment.id),
        )
    )
    assert removal.request_type == AccessPackageRequestType.AdminRemove
    after = await em.assignments.by_access_package_assignment_id(assignment.id).get()
    assert after.state.value == "expired", after.state
    assert (await g.groups.by_group_id(group.id).members.get()).value == []
    step("adminRemove takes the membership back; the assignment is expired")

    await by_package.resource_role_scopes.by_access_package_resource_role_scope_id(scope.id).delete()
    await em.assignment_policies.by_access_package_assignment_policy_id(policy.id).delete()
    await by_package.delete()
    await by_catalog.delete()
    step("deletes")


async def access_reviews(g):
    erin = await user_named(g, "erin@contoso.example")
    me = await g.me.get()
    q = GroupsRequestBuilder.GroupsRequestBuilderGetQueryParameters(
        filter="displayName eq 'Helpdesk Team'"
    )
    team = (await g.groups.get(request_configuration=RequestConfiguration(query_parameters=q))).value[0]
    definition = await g.identity_governance.access_reviews.definitions.post(
        AccessReviewScheduleDefinition(
            display_name="Helpdesk Team (SDK)",
            description_for_reviewers="Who still needs it?",
            scope=AccessReviewQueryScope(
                odata_type="#microsoft.graph.accessReviewQueryScope",
                query=f"/groups/{team.id}/transitiveMembers",
                query_type="MicrosoftGraph",
            ),
            reviewers=[
                AccessReviewReviewerScope(query=f"/users/{me.id}", query_type="MicrosoftGraph")
            ],
            settings=AccessReviewScheduleSettings(
                instance_duration_in_days=3,
                recommendations_enabled=True,
                default_decision_enabled=False,
                auto_apply_decisions_enabled=False,
                mail_notifications_enabled=False,
                recurrence=PatternedRecurrence(
                    pattern=RecurrencePattern(type=RecurrencePatternType.Weekly, interval=1),
                    range=RecurrenceRange(
                        type=RecurrenceRangeType.Numbered,
                        number_of_occurrences=1,
                        start_date=datetime.date.today(),
                    ),
                ),
            ),
        )
    )
    assert definition.id and definition.status == "InProgress", definition
    by_def = g.identity_governance.access_reviews.definitions.by_access_review_schedule_definition_id(
        definition.id
    )
    got = await by_def.get()
    assert got.settings.recurrence.range.start_date == datetime.date.today(), got.settings
    instances = (await by_def.instances.get()).value
    assert len(instances) == 1 and instances[0].status == "InProgress", instances
    by_instance = by_def.instances.by_access_review_instance_id(instances[0].id)
    mine = (await by_instance.decisions.filter_by_current_user_with_on("reviewer").get()).value
    assert {d.principal.id for d in mine} >= {erin.id}, [d.principal.id for d in mine]
    assert all(d.decision == "NotReviewed" and d.recommendation for d in mine), mine
    step("access review created with its snapshot")
    await by_instance.batch_record_decisions.post(
        BatchRecordDecisionsPostRequestBody(decision="Deny", justification="moved teams", principal_id=erin.id)
    )
    decided = (await by_instance.decisions.get()).value
    erins = [d for d in decided if d.principal.id == erin.id][0]
    assert erins.decision == "Deny" and erins.reviewed_by.id == me.id, erins
    step("access review decisions recorded")
    await by_instance.stop.post()
    await by_instance.apply_decisions.post()
    applied = await by_instance.get()
    assert applied.status == "Applied", applied.status
    members = await g.groups.by_group_id(team.id).members.get()
    assert erin.id not in [m.id for m in members.value], members.value
    await by_def.delete()
    step("access review applied")


async def main():
    g = client(TOKEN)
    await pim(g)
    await entitlement(g)
    await access_reviews(g)


try:
    asyncio.run(main())
except ODataError as e:
    detail = e.error.message if e.error else e
    print(f"FAILED: status {e.response_status_code}: {detail}", file=sys.stderr)
    raise

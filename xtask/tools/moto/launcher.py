"""Starts moto_server after patching the moto gaps that block deploying,
running and destroying Zipster's real template (see README.md beside this file).

The one launcher, for the local stage and every test (started by
zipster_tools::moto). The product never depends on these patches. Usage:
    python launcher.py -H 127.0.0.1 -p PORT
"""

import itertools
import json
import os
import sys
import time

import moto
from moto.ec2.models.flow_logs import FlowLogsBackend
from moto.ec2.models.route_tables import RouteTable
from moto.ec2.models.subnets import SubnetRouteTableAssociation

EXPECTED_MOTO = "5.2.5"


def flow_logs_accept_s3_prefixes():
    """moto takes everything after the bucket ARN's last colon as the bucket name,
    so `arn:aws:s3:::bucket/prefix/` fails with "does not exist" and the
    CloudFormation handler then crashes on an empty list (IndexError)."""
    original = FlowLogsBackend.create_flow_logs

    def create_flow_logs(self, resource_type, resource_ids, traffic_type, permission_arn,
                         destination_type, destination, *rest):
        if destination_type == "s3" and destination and "/" in destination:
            bucket_arn = destination.split("/", 1)[0]
            logs, unsuccessful = original(self, resource_type, resource_ids, traffic_type,
                                          permission_arn, destination_type, bucket_arn, *rest)
            for log in logs:
                log.log_destination = destination
            return logs, unsuccessful
        return original(self, resource_type, resource_ids, traffic_type, permission_arn,
                        destination_type, destination, *rest)

    FlowLogsBackend.create_flow_logs = create_flow_logs


def route_tables_can_be_deleted():
    """Neither RouteTable nor SubnetRouteTableAssociation has a CloudFormation delete
    handler, so deleting a stack leaves them and the VPC fails with DependencyViolation."""

    def delete_route_table(self, account_id, region_name):
        for association_id in list(self._associations):
            self.ec2_backend.disassociate_route_table(association_id)
        self.ec2_backend.delete_route_table(self.id)

    RouteTable.delete = delete_route_table

    def delete_association(self, account_id, region_name):
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[account_id][region_name]
        backend.subnet_associations.pop(f"{self.route_table_id}:{self.subnet_id}", None)

    SubnetRouteTableAssociation.delete = delete_association


def change_sets_behave_like_cloudformation():
    """Three change-set gaps: (1) executing a CREATE change set never evaluates the
    template's Outputs (the stack was built from an empty template and its output map
    is not rebuilt); (2) the described Changes ignore parameter changes, so a new code
    key shows no change although executing it updates the function; (3) executing an
    UPDATE change set keeps the old parameters, so the next identical change set is
    reported as a change."""
    from moto.cloudformation.models import Change, ChangeSet, CloudFormationBackend

    original_execute = CloudFormationBackend.execute_change_set

    def execute_change_set(self, change_set_name, stack_name=None):
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name
             and (stack_name is None or cs.stack_name == stack_name or cs.stack_id == stack_name)),
            None)
        original_execute(self, change_set_name, stack_name)
        if change_set is not None:
            stack = change_set.stack
            stack.parameters = change_set.parameters
            stack._parse_template()
            stack.output_map = stack._create_output_map()

    CloudFormationBackend.execute_change_set = execute_change_set

    def diff(self):
        resource_map = self.stack.resource_map
        by_action = resource_map.build_resource_diff(self.template_dict, self.parameters)
        changes = []
        for action, names in by_action.items():
            for name in dict.fromkeys(names):
                source = self.template_dict["Resources"] if action != "Remove" else resource_map._resource_json_map
                changes.append(Change(action=action, logical_resource_id=name,
                                      resource_type=source[name]["Type"]))
        return changes

    ChangeSet.diff = diff


def secrets_from_templates():
    """moto has no CloudFormation handler for AWS::SecretsManager::Secret: the
    resource is skipped, so no secret exists, `Ref` resolves to nothing and the
    DatabaseSecretArn output is missing. This one creates the secret, generating
    the password as GenerateSecretString asks, and deletes it with the stack."""
    import json

    from moto.core.common_models import CloudFormationModel
    from moto.secretsmanager.models import secretsmanager_backends

    class TemplateSecret(CloudFormationModel):
        # moto's model metaclass derives the service from the module's name.
        __module__ = "moto.secretsmanager.template_secret"

        def __init__(self, arn, account_id, region_name):
            self.arn = arn
            self.account_id = account_id
            self.region_name = region_name

        @staticmethod
        def cloudformation_name_type():
            return "Name"

        @staticmethod
        def cloudformation_type():
            return "AWS::SecretsManager::Secret"

        @property
        def physical_resource_id(self):
            return self.arn

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                            region_name, **kwargs):
            properties = cloudformation_json["Properties"]
            backend = secretsmanager_backends[account_id][region_name]
            secret_string = properties.get("SecretString")
            generate = properties.get("GenerateSecretString")
            if generate:
                password = json.loads(backend.get_random_password(
                    password_length=int(generate.get("PasswordLength", 32)),
                    exclude_characters=generate.get("ExcludeCharacters", ""),
                    exclude_numbers=False,
                    exclude_punctuation=bool(generate.get("ExcludePunctuation", False)),
                    exclude_uppercase=False,
                    exclude_lowercase=False,
                    include_space=False,
                    require_each_included_type=True,
                ))["RandomPassword"]
                secret = json.loads(generate.get("SecretStringTemplate", "{}"))
                secret[generate["GenerateStringKey"]] = password
                secret_string = json.dumps(secret)
            created = json.loads(backend.create_secret(
                name=properties.get("Name", resource_name),
                secret_string=secret_string,
                secret_binary=None,
                description=properties.get("Description"),
                tags=properties.get("Tags"),
                kms_key_id=properties.get("KmsKeyId"),
                client_request_token=None,
                replica_regions=[],
                force_overwrite=False,
            ))
            return cls(created["ARN"], account_id, region_name)

        def delete(self, account_id, region_name):
            secretsmanager_backends[account_id][region_name].delete_secret(
                self.arn, recovery_window_in_days=None, force_delete_without_recovery=True)

    return TemplateSecret


def bucket_policies_respect_conditions():
    """moto evaluates a bucket policy's statements for object requests but ignores
    their Condition, so the TLS-only statement (Deny s3:* when aws:SecureTransport
    is false) denies every object request with a bare 403. Conditional statements
    are left out of moto's evaluation; the clients reach moto over plain HTTP on
    loopback, where AWS would be HTTPS and the Deny would not apply."""
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode())
        statements = policy.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        policy["Statement"] = [s for s in statements if "Condition" not in s]
        if not policy["Statement"]:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission


def buckets_from_templates_are_versioned():
    """moto's CloudFormation handler for AWS::S3::Bucket applies only the name,
    encryption and tags: VersioningConfiguration is ignored, so a template's
    versioned bucket keeps one version per key and destroy's version handling
    goes untested. This applies the template's versioning status."""
    from moto.s3.models import FakeBucket

    original = FakeBucket.create_from_cloudformation_json.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        bucket = original(cls, resource_name, cloudformation_json, account_id, region_name,
                          **kwargs)
        status = (cloudformation_json.get("Properties", {})
                  .get("VersioningConfiguration", {}).get("Status"))
        if status:
            bucket.versioning_status = status
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)


def lambda_answers_without_docker():
    """moto runs a function's code only inside Docker (none here, none in CI):
    Invoke then fails, and with Docker turned off (`use_docker: false`, which the
    starter sets) it answers with the bare event. Instead, every invocation answers
    `{"moto_launcher": "echo", "function": ..., "event": ...}`, so a test can check
    what was sent and that the answer is handled; what the function itself does is
    tested with the real binaries elsewhere."""
    import json

    from moto.awslambda.models import LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def echo(function_name, event):
        return json.dumps({"moto_launcher": "echo", "function": function_name, "event": event})

    def _invoke_lambda(self, event=None):
        return echo(self.function_name, event), False, ""

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        event = json.loads(body) if body else None
        return echo(self.get_function(function_name, qualifier).function_name, event).encode()

    LambdaFunction._invoke_lambda = _invoke_lambda
    LambdaSimpleBackend.invoke = invoke


def s3_events_carry_every_field():
    """moto's S3 event records lack `userIdentity`, `requestParameters`,
    `responseElements` and the object's `versionId` and `sequencer`, which S3 always
    sends (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
    strict parsers (aws_lambda_events) refuse such records, and the load orders
    versions by `sequencer`. This adds them as S3 would."""
    from moto.s3 import notifications

    original = notifications._get_s3_event
    sequence = itertools.count(1)

    def get_s3_event(event_name, bucket, key, notification_id):
        event = original(event_name, bucket, key, notification_id)
        for record in event["Records"]:
            record.setdefault("userIdentity", {"principalId": "AWS:LOCALSTAGE"})
            record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
            record.setdefault("responseElements", {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"})
            record["s3"]["bucket"].setdefault("ownerIdentity", {"principalId": "LOCALSTAGE"})
            obj = record["s3"]["object"]
            version = getattr(key, "version_id", None)
            if version and version != "null":
                obj.setdefault("versionId", version)
            # Increasing per event, as S3's sequencer is per key: hex, fixed width.
            obj.setdefault("sequencer", f"{time.time_ns():016X}{next(sequence):06X}")
        return event

    notifications._get_s3_event = get_s3_event


# The properties whose change makes CloudFormation replace a resource ("Update
# requires: Replacement" in the resource reference), for the types the deploy gate
# cares about; any other modification is reported as Replacement False.
REPLACED_BY = {
    "AWS::EC2::Instance": ["ImageId", "SubnetId", "AvailabilityZone", "KeyName", "PrivateIpAddress",
                           "BlockDeviceMappings", "LaunchTemplate", "NetworkInterfaces", "Tenancy"],
    "AWS::EC2::Volume": ["AvailabilityZone", "SnapshotId", "Encrypted", "KmsKeyId", "OutpostArn"],
    "AWS::S3::Bucket": ["BucketName"],
    "AWS::SQS::Queue": ["QueueName", "FifoQueue"],
    "AWS::SecretsManager::Secret": ["Name"],
}


def change_sets_report_replacements():
    """moto's described change set rows carry only Action, LogicalResourceId and
    ResourceType: no Replacement, Scope or Details, so a change that replaces a
    resource looks like any other modification. This sets Replacement True (with
    Scope and Details naming the property, `RequiresRecreation: Always`) when a
    property in REPLACED_BY changed, directly or through a parameter it references,
    and False for every other modification, as CloudFormation does."""
    from moto.cloudformation.models import ChangeSet
    from moto.cloudformation.parsing import get_references_from_template

    original_diff = ChangeSet.diff

    def diff(self):
        changes = original_diff(self)
        resource_map = self.stack.resource_map
        old_parameters = getattr(resource_map, "input_parameters", {}) or {}
        new_parameters = self.parameters or {}
        changed_parameters = {p for p in new_parameters if old_parameters.get(p) != new_parameters[p]}
        for change in changes:
            if change.action != "Modify":
                continue
            new = self.template_dict["Resources"].get(change.logical_resource_id, {})
            old = resource_map._resource_json_map.get(change.logical_resource_id, {})
            new_properties, old_properties = new.get("Properties", {}), old.get("Properties", {})
            replaced_by = [
                name for name in REPLACED_BY.get(new.get("Type"), [])
                if new_properties.get(name) != old_properties.get(name)
                or changed_parameters & set(get_references_from_template({"p": new_properties.get(name)}))
            ]
            change.replacement = "True" if replaced_by else "False"
            change.scope = ["Properties"] if replaced_by else []
            change.details = [
                {"Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": "Always"},
                 "Evaluation": "Static", "ChangeSource": "DirectModification"}
                for name in replaced_by
            ]
        return changes

    ChangeSet.diff = diff


def volumes_keep_a_final_snapshot():
    """moto's stack deletion honours `DeletionPolicy: Retain` but not `Snapshot`: an
    `AWS::EC2::Volume` with it is deleted (or left) with no snapshot taken, where
    CloudFormation snapshots it first. This takes the snapshot before the volume's
    deletion, described as CloudFormation's final snapshot."""
    from moto.cloudformation.parsing import ResourceMap
    from moto.ec2.models import ec2_backends

    original = ResourceMap._delete_resource

    def _delete_resource(self, parsed_resource, resource_json):
        if (resource_json.get("DeletionPolicy") == "Snapshot"
                and resource_json.get("Type") == "AWS::EC2::Volume"):
            backend = ec2_backends[self._account_id][self._region_name]
            backend.create_snapshot(parsed_resource.id,
                                    f"final snapshot of {parsed_resource.id} (DeletionPolicy Snapshot)")
        return original(self, parsed_resource, resource_json)

    ResourceMap._delete_resource = _delete_resource


def instances_are_replaced_on_update():
    """moto has no CloudFormation update handler for `AWS::EC2::Instance`: executing a
    change set that modifies one drops it from the stack, and every `Fn::GetAtt` on
    it then fails (HTTP 500 on DescribeStacks). CloudFormation replaces the instance
    (a new ImageId) or updates it in place; this replaces it, for any change: a new
    instance from the new properties first, then the old one terminated, in
    CloudFormation's order."""
    from moto.cloudformation import parsing

    original = parsing.parse_and_update_resource

    def parse_and_update_resource(logical_id, resource_json, resources_map, account_id, region_name):
        if resource_json.get("Type") != "AWS::EC2::Instance":
            return original(logical_id, resource_json, resources_map, account_id, region_name)
        old = resources_map._parsed_resources.get(logical_id)
        new = parsing.parse_and_create_resource(logical_id, resource_json, resources_map, account_id,
                                                region_name)
        if old is not None and not isinstance(old, str) and new is not None:
            old.delete(account_id, region_name)
        return new

    parsing.parse_and_update_resource = parse_and_update_resource


def change_sets_with_an_unchanged_body_fail_like_cloudformation():
    """CreateChangeSet (UPDATE) with a TemplateBody identical to the stack's, and the
    same parameters, answers ValidationError "No updates are to be performed." at once
    (UpdateStack's answer). CloudFormation creates the change set, which then fails
    with "The submitted information didn't contain changes", as moto already does for
    a TemplateURL, whose body it compares only after this check."""
    from moto.cloudformation.responses import CloudFormationResponse

    original = CloudFormationResponse.create_change_set

    def create_change_set(self):
        self._validate_different_update = lambda *args: None
        try:
            return original(self)
        finally:
            del self._validate_different_update

    CloudFormationResponse.create_change_set = create_change_set

# What `stacks_detect_drift` compares, per resource type: the properties whose live
# value moto keeps (what the stage's operators change by hand in the console).
DRIFT_CHECKED = {
    "AWS::Lambda::Function": ["Description", "MemorySize", "Timeout"],
    "AWS::SQS::Queue": ["MessageRetentionPeriod", "VisibilityTimeout"],
}


def stacks_detect_drift():
    """moto has no drift detection: DetectStackDrift, DescribeStackDriftDetectionStatus
    and DescribeStackResourceDrifts are not implemented (moto answers HTTP 500, "The
    detect_stack_drift action has not been implemented"). This compares each resource
    of a type DRIFT_CHECKED lists with the template's value of those properties
    (resolved as moto resolved them when it created the stack), as CloudFormation does:
    MODIFIED with its property differences, DELETED when the resource is gone, IN_SYNC
    otherwise; other types are NOT_CHECKED, as CloudFormation leaves unsupported ones.
    Detection completes at once."""
    import datetime
    import uuid

    from moto.awslambda.utils import get_backend as lambda_backend
    from moto.cloudformation.parsing import clean_json
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult
    from moto.sqs.models import sqs_backends

    detections = {}

    def live(resource_type, physical_id, account, region):
        try:
            if resource_type == "AWS::Lambda::Function":
                # The backend moto serves Lambda from (without Docker: the "simple" one).
                function = lambda_backend(account, region).get_function(physical_id)
                return {"Description": function.description, "MemorySize": function.memory_size,
                        "Timeout": function.timeout}
            queue = sqs_backends[account][region].get_queue(physical_id.rsplit("/", 1)[-1])
            return {"MessageRetentionPeriod": queue.message_retention_period,
                    "VisibilityTimeout": queue.visibility_timeout}
        except Exception:  # moto's "not found" differs per service: the resource is gone.
            return None

    def drifts_of(stack, account, region, now):
        resource_map = stack.resource_map
        drifts = []
        # What DescribeStackResources lists (the template re-parsed after a change set
        # holds no created resources).
        for resource in stack.stack_resources:
            logical_id = getattr(resource, "logical_resource_id", None)
            resource_json = stack.template_dict.get("Resources", {}).get(logical_id)
            if not logical_id or resource_json is None:
                continue
            resource_type = resource_json.get("Type")
            physical_id = getattr(resource, "physical_resource_id", None) or ""
            drift = {"StackId": stack.stack_id, "LogicalResourceId": logical_id,
                     "PhysicalResourceId": physical_id, "ResourceType": resource_type,
                     "PropertyDifferences": [], "Timestamp": now}
            if resource_type not in DRIFT_CHECKED:
                drift["StackResourceDriftStatus"] = "NOT_CHECKED"
                drifts.append(drift)
                continue
            template = clean_json(resource_json.get("Properties", {}), resource_map)
            expected = {name: template[name] for name in DRIFT_CHECKED[resource_type] if name in template}
            actual = live(resource_type, physical_id, account, region)
            drift["ExpectedProperties"] = json.dumps(expected, sort_keys=True)
            if actual is None:
                drift["StackResourceDriftStatus"] = "DELETED"
                drifts.append(drift)
                continue
            actual = {name: actual[name] for name in expected}
            drift["ActualProperties"] = json.dumps(actual, sort_keys=True)
            for name, value in expected.items():
                if str(actual[name]) != str(value):
                    drift["PropertyDifferences"].append({
                        "PropertyPath": f"/{name}", "ExpectedValue": str(value),
                        "ActualValue": str(actual[name]), "DifferenceType": "NOT_EQUAL"})
            drift["StackResourceDriftStatus"] = "MODIFIED" if drift["PropertyDifferences"] else "IN_SYNC"
            drifts.append(drift)
        return drifts

    def detect_stack_drift(self):
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        now = datetime.datetime.now(datetime.timezone.utc)
        detection_id = str(uuid.uuid4())
        detections[detection_id] = (stack, drifts_of(stack, self.current_account, self.region, now), now)
        return ActionResult({"StackDriftDetectionId": detection_id})

    def describe_stack_drift_detection_status(self):
        detection_id = self._get_param("StackDriftDetectionId")
        stack, drifts, now = detections[detection_id]
        drifted = [d for d in drifts if d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED")]
        return ActionResult({
            "StackId": stack.stack_id, "StackDriftDetectionId": detection_id,
            "StackDriftStatus": "DRIFTED" if drifted else "IN_SYNC",
            "DetectionStatus": "DETECTION_COMPLETE", "DriftedStackResourceCount": len(drifted),
            "Timestamp": now})

    def describe_stack_resource_drifts(self):
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        wanted = self._get_param("StackResourceDriftStatusFilters", [])
        latest = [drifts for (s, drifts, _) in detections.values() if s.stack_id == stack.stack_id]
        drifts = latest[-1] if latest else []
        return ActionResult({"StackResourceDrifts": [
            d for d in drifts if not wanted or d["StackResourceDriftStatus"] in wanted]})

    CloudFormationResponse.detect_stack_drift = detect_stack_drift
    CloudFormationResponse.describe_stack_drift_detection_status = describe_stack_drift_detection_status
    CloudFormationResponse.describe_stack_resource_drifts = describe_stack_resource_drifts


def alarms_from_templates():
    """moto has no CloudFormation handler for AWS::CloudWatch::Alarm: it logs "No Moto
    CloudFormation support" and reports the resource complete, so no alarm exists and
    DescribeAlarms answers none of the stack's. This creates each alarm from its
    properties (PutMetricAlarm's), replaces it on update, deletes it with the stack,
    and starts it as CloudWatch starts a new alarm: INSUFFICIENT_DATA, "Unchecked:
    Initial alarm creation" (moto's PutMetricAlarm starts at OK). Nothing evaluates
    metrics; SetAlarmState moves it."""
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.core.common_models import CloudFormationModel

    class TemplateAlarm(CloudFormationModel):
        # moto's model metaclass derives the service from the module's name.
        __module__ = "moto.cloudwatch.template_alarm"

        def __init__(self, name):
            self.name = name

        @staticmethod
        def cloudformation_name_type():
            return "AlarmName"

        @staticmethod
        def cloudformation_type():
            return "AWS::CloudWatch::Alarm"

        @property
        def physical_resource_id(self):
            return self.name

        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                            region_name, **kwargs):
            properties = cloudformation_json["Properties"]
            backend = cloudwatch_backends[account_id][region_name]
            name = properties.get("AlarmName", resource_name)
            alarm = backend.put_metric_alarm(
                name=name,
                namespace=properties.get("Namespace"),
                metric_name=properties.get("MetricName"),
                comparison_operator=properties["ComparisonOperator"],
                evaluation_periods=int(properties["EvaluationPeriods"]),
                period=int(properties.get("Period", 60)),
                threshold=float(properties.get("Threshold", 0)),
                statistic=properties.get("Statistic"),
                description=properties.get("AlarmDescription", ""),
                dimensions=properties.get("Dimensions", []),
                alarm_actions=properties.get("AlarmActions", []),
                ok_actions=properties.get("OKActions", []),
                insufficient_data_actions=properties.get("InsufficientDataActions", []),
                treat_missing_data=properties.get("TreatMissingData"),
                datapoints_to_alarm=properties.get("DatapointsToAlarm"),
            )
            alarm.state_value = "INSUFFICIENT_DATA"
            return cls(name)

        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                            cloudformation_json, account_id, region_name):
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                       account_id, region_name)

        def delete(self, account_id, region_name):
            cloudwatch_backends[account_id][region_name].delete_alarms([self.name])

    return TemplateAlarm


PATCHES = [
    flow_logs_accept_s3_prefixes,
    route_tables_can_be_deleted,
    change_sets_behave_like_cloudformation,
    secrets_from_templates,
    bucket_policies_respect_conditions,
    buckets_from_templates_are_versioned,
    lambda_answers_without_docker,
    s3_events_carry_every_field,
    change_sets_report_replacements,
    volumes_keep_a_final_snapshot,
    instances_are_replaced_on_update,
    change_sets_with_an_unchanged_body_fail_like_cloudformation,
    stacks_detect_drift,
    alarms_from_templates,
]


def main():
    if moto.__version__ != EXPECTED_MOTO:
        print(f"moto_launcher: patches verified on moto {EXPECTED_MOTO}, found {moto.__version__}",
              file=sys.stderr)
    # MOTO_LAUNCHER_SKIP=name,... leaves patches out, to re-measure a gap on a new moto.
    skip = set(filter(None, os.environ.get("MOTO_LAUNCHER_SKIP", "").split(",")))
    for patch in PATCHES:
        if patch.__name__ not in skip:
            patch()
    from moto.server import main as server_main

    server_main(sys.argv[1:])


if __name__ == "__main__":
    main()

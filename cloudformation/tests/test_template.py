"""The generated template declares what moto cannot show: parameters, TTL, notifications, policies, limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from shepard_flock import LAMBDA_RUNTIME, POWERTOOLS_LAYER

TEMPLATE_PATH = Path(__file__).resolve().parents[1] / "shepard.yml"

SEED_PARAMETERS = {
    # S3, DynamoDB, Secrets Manager
    "InputsBucket",
    "OutputsBucket",
    "ErrorsBucket",
    "TableName",
    "SecretsManagerName",
    # Batch
    "BatchInstanceNames",
    "DesiredRam",
    "DesiredCPU",
    "MaxCPU",
    "InstanceTypes",
    "LaunchTemplateName",
    "ComputeEnvironmentType",
    "QueueName",
    "JobDefinitionName",
    "Ec2KeyPair",
    "DefaultCapacity",
    "UlimitsNoFilesOpen",
    "JobPidsLimit",
    # Instance tagging, ECR, EFS, Lustre, EBS, SQS, Lambda
    "ProjectName",
    "TeamName",
    "ContactEmail",
    "WorkloadValue",
    "ECRRepoName",
    "EFSName",
    "EFSThroughput",
    "LustreName",
    "LustreBucketName",
    "LustreStorageCapacity",
    "SizeOfRootDisk",
    "SizeOfContainerStorageDisk",
    "SQSName",
    "LambdaMemorySize",
    "DaysToKeepFailedLaunchIndexes",
    # Toggles, extra IAM policy
    "ToggleEFS",
    "ToggleLustre",
    "ToggleVariableEBSVolumeSizes",
    "ToggleUseExistingBucketForLustre",
    "ToggleAllowAccessToDockerDaemon",
    "ToggleAllocationStrategy",
    "ToggleIncludeExtraIAMPolicyForContainerRole",
    "ExtraIAMPolicyForContainerRole",
    # Networking
    "EnvironmentName",
    "VpcCIDR",
    "PublicSubnet1CIDR",
    "PublicSubnet2CIDR",
    "PrivateSubnet1CIDR",
    "PrivateSubnet2CIDR",
    "CIDRToAllowSSHAccessTo",
    "AllowSSHAccessToCIDRToAllowSSHAccessTo",
    "MakeSubnetsPublic",
}
LAMBDAS = (
    "ShepardSchedulerFunction",
    "ShepardSchedulerFunctionBatchingEndpoint",
    "ShepardReconcilerFunction",
)


def props(template, logical_id):
    return template["Resources"][logical_id]["Properties"]


class TestParameters:
    def test_every_seed_parameter_and_the_new_buckets_are_declared(self, template):
        """Every parameter the original template documented is declared, plus the quick-deploy bucket."""
        assert SEED_PARAMETERS | {"QuickDeployBucket"} <= set(template["Parameters"])

    def test_toggles_take_true_or_false(self, template):
        """Every toggle parameter takes exactly "True" or "False"."""
        toggles = [name for name in template["Parameters"] if name.startswith("Toggle")]
        toggles += ["AllowSSHAccessToCIDRToAllowSSHAccessTo", "MakeSubnetsPublic"]
        for name in toggles:
            assert sorted(template["Parameters"][name]["AllowedValues"]) == ["False", "True"], name

    def test_root_disk_is_never_smaller_than_the_ami_snapshot(self, template):
        """SizeOfRootDisk refuses sizes below the ECS-optimized AL2023 AMI's 30 GiB root snapshot."""
        assert template["Parameters"]["SizeOfRootDisk"]["MinValue"] >= 30

    def test_scheduler_batches_are_big_and_valid_for_the_event_source_mapping(self, template):
        """BatchSize runs 1-10,000 (default 1,000) and the window never drops below the 1 s it then needs."""
        size = template["Parameters"]["SchedulerBatchSize"]
        window = template["Parameters"]["SchedulerBatchingWindowSeconds"]
        assert (size["MinValue"], size["MaxValue"], size["Default"]) == (1, 10_000, 1_000)
        assert (window["MinValue"], window["MaxValue"], window["Default"]) == (1, 300, 1)
        mapping = props(template, "SchedulerEventSourceMapping")
        assert mapping["BatchSize"] == {"Ref": "SchedulerBatchSize"}
        assert mapping["MaximumBatchingWindowInSeconds"] == {"Ref": "SchedulerBatchingWindowSeconds"}
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]

    def test_compute_environment_type_offers_ec2_and_spot(self, template):
        """ComputeEnvironmentType offers the original's two choices."""
        assert template["Parameters"]["ComputeEnvironmentType"]["AllowedValues"] == ["Ec2", "Spot"]

    def test_runnable_time_limit_is_off_by_default_and_never_under_ten_minutes(self, template):
        """RunnableTimeLimitMinutes is 0 (off) by default; every other value is 10 to 1,440 minutes."""
        parameter = template["Parameters"]["RunnableTimeLimitMinutes"]
        allowed = parameter["AllowedValues"]
        assert parameter["Default"] == "0"
        assert "0" in allowed
        assert all(10 <= int(minutes) <= 1440 for minutes in allowed if minutes != "0")
        assert template["Conditions"]["HasRunnableTimeLimit"] == {
            "Fn::Not": [{"Fn::Equals": [{"Ref": "RunnableTimeLimitMinutes"}, "0"]}]
        }

    def test_every_runnable_time_limit_has_its_seconds(self, template):
        """The mapping gives each allowed value in seconds (CloudFormation has no arithmetic)."""
        seconds = template["Mappings"]["RunnableTimeLimit"]
        allowed = template["Parameters"]["RunnableTimeLimitMinutes"]["AllowedValues"]
        assert {minutes: row["Seconds"] for minutes, row in seconds.items()} == {
            minutes: int(minutes) * 60 for minutes in allowed
        }


class TestResources:
    def test_job_rows_expire_by_end_time(self, template):
        """The job table's TTL attribute is END_TIME, so finished and abandoned rows clean themselves."""
        assert props(template, "JobTable")["TimeToLiveSpecification"] == {
            "AttributeName": "END_TIME",
            "Enabled": True,
        }

    @pytest.mark.parametrize(
        ("index", "hash_key"), [("ByStatusGroup", "SHEPARD_LIST_GROUP"), ("ByTag", "SHEPARD_LIST_TAG")]
    )
    def test_job_rows_are_listed_by_two_indexes_of_the_core_s_list_keys(self, template, index, hash_key):
        """Each index is keyed by the core's list attributes (sorted by LIST_TIME) and projects whole rows."""
        table = props(template, "JobTable")
        [found] = [gsi for gsi in table["GlobalSecondaryIndexes"] if gsi["IndexName"] == index]
        assert found["KeySchema"] == [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": "SHEPARD_LIST_TIME", "KeyType": "RANGE"},
        ]
        assert found["Projection"] == {"ProjectionType": "ALL"}
        assert "ProvisionedThroughput" not in found
        assert table["BillingMode"] == "PAY_PER_REQUEST"
        types = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
        assert types == dict.fromkeys(
            ("UUID", "SHEPARD_LIST_GROUP", "SHEPARD_LIST_TAG", "SHEPARD_LIST_TIME"), "S"
        )

    def test_workers_and_writers_may_write_counted_transactions(self, template):
        """Each role that moves a row's status group holds UpdateItem (a transaction's Update) on it."""
        for role in ("JobRole", "SchedulerRole", "BatchingEndpointRole", "ReconcilerRole"):
            actions = [
                action
                for policy in props(template, role)["Policies"]
                for statement in policy["PolicyDocument"]["Statement"]
                if statement.get("Resource") == {"Fn::GetAtt": ["JobTable", "Arn"]}
                for action in (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
            ]
            assert "dynamodb:UpdateItem" in actions, role

    def test_inputs_bucket_notifies_the_upload_queue_which_admits_only_that_bucket(self, template):
        """Uploads to the inputs bucket go to the queue, whose policy lets only that bucket's S3 events in."""
        [notification] = props(template, "InputsS3Bucket")["NotificationConfiguration"]["QueueConfigurations"]
        assert notification == {
            "Event": "s3:ObjectCreated:*",
            "Queue": {"Fn::GetAtt": ["SchedulerQueue", "Arn"]},
        }
        assert "SchedulerQueuePolicy" in template["Resources"]["InputsS3Bucket"]["DependsOn"]
        [statement] = props(template, "SchedulerQueuePolicy")["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"
        assert statement["Condition"]["ArnEquals"] == {
            "aws:SourceArn": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${InputsBucket}"}
        }

    def test_queue_outlasts_six_scheduler_timeouts(self, template):
        """The upload queue's visibility timeout is at least six times the scheduler's timeout."""
        timeout = props(template, "ShepardSchedulerFunction")["Timeout"]
        assert props(template, "SchedulerQueue")["VisibilityTimeout"] >= 6 * timeout

    @pytest.mark.parametrize("logical_id", LAMBDAS)
    def test_lambdas_use_the_public_powertools_layer_and_inline_code(self, template, logical_id):
        """Each Lambda runs the flock's runtime and inline code on the public Powertools layer, via SSM."""
        properties = props(template, logical_id)
        assert properties["Runtime"] == LAMBDA_RUNTIME
        assert properties["Handler"] == "index.handler"
        assert properties["Layers"] == [POWERTOOLS_LAYER]
        assert POWERTOOLS_LAYER.startswith("{{resolve:ssm:/aws/service/powertools/python/x86_64/python3")
        assert set(properties["Code"]) == {"ZipFile"}

    def test_batch_job_ends_of_the_flock_s_queue_go_to_the_reconciler(self, template):
        """The rule takes Batch's FAILED and SUCCEEDED job changes of the flock's queue to the reconciler."""
        rule = props(template, "BatchJobEndRule")
        assert rule["State"] == "ENABLED"
        assert rule["EventPattern"] == {
            "source": ["aws.batch"],
            "detail-type": ["Batch Job State Change"],
            "detail": {"status": ["FAILED", "SUCCEEDED"], "jobQueue": [{"Ref": "JobQueue"}]},
        }
        [target] = rule["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["ShepardReconcilerFunction", "Arn"]}
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]}}
        assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0

    def test_the_job_queue_cancels_jobs_blocked_longer_than_the_time_limit(self, template):
        """With a time limit, the queue cancels a job blocked RUNNABLE for each reason Batch can act on."""
        actions = props(template, "JobQueue")["JobStateTimeLimitActions"]["Fn::If"]
        assert actions[0] == "HasRunnableTimeLimit"
        assert actions[2] == {"Ref": "AWS::NoValue"}
        seconds = {"Fn::FindInMap": ["RunnableTimeLimit", {"Ref": "RunnableTimeLimitMinutes"}, "Seconds"]}
        assert actions[1] == [
            {"Action": "CANCEL", "State": "RUNNABLE", "Reason": reason, "MaxTimeSeconds": seconds}
            for reason in (
                "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
                "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
            )
        ]

    def test_only_the_rule_may_invoke_the_reconciler(self, template):
        """EventBridge may invoke the reconciler for this rule alone."""
        permission = props(template, "ReconcilerInvokePermission")
        assert permission["Action"] == "lambda:InvokeFunction"
        assert permission["Principal"] == "events.amazonaws.com"
        assert permission["FunctionName"] == {"Fn::GetAtt": ["ShepardReconcilerFunction", "Arn"]}
        assert permission["SourceArn"] == {"Fn::GetAtt": ["BatchJobEndRule", "Arn"]}

    def test_an_event_the_reconciler_keeps_failing_on_lands_in_its_dead_letter_queue(self, template):
        """Failed invocations are retried twice, then dead-lettered; only the rule may send to the queue."""
        function = props(template, "ShepardReconcilerFunction")
        assert function["DeadLetterConfig"] == {
            "TargetArn": {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "Arn"]}
        }
        assert function["LoggingConfig"] == {"LogGroup": {"Ref": "ReconcilerLogGroup"}}
        invoke = props(template, "ReconcilerEventInvokeConfig")
        assert invoke["FunctionName"] == {"Ref": "ShepardReconcilerFunction"}
        assert invoke["MaximumRetryAttempts"] == 2
        [statement] = props(template, "ReconcilerDeadLetterQueuePolicy")["PolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Condition"] == {
            "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["BatchJobEndRule", "Arn"]}}
        }
        alarm = props(template, "ReconcilerDeadLetterQueueAlarm")
        assert alarm["Dimensions"] == [
            {"Name": "QueueName", "Value": {"Fn::GetAtt": ["ReconcilerDeadLetterQueue", "QueueName"]}}
        ]

    def test_the_reconciler_may_read_and_update_rows_and_write_error_zips_only(self, template):
        """Its role grants GetItem and UpdateItem (a transaction's Update) on the table, PutObject on zips."""
        statements = {
            statement["Sid"]: statement
            for policy in props(template, "ReconcilerRole")["Policies"]
            for statement in policy["PolicyDocument"]["Statement"]
        }
        assert set(statements) == {"Logs", "JobRows", "ErrorReports", "DeadLetters"}
        assert statements["JobRows"]["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        assert statements["JobRows"]["Resource"] == {"Fn::GetAtt": ["JobTable", "Arn"]}
        assert statements["ErrorReports"]["Action"] == "s3:PutObject"
        assert statements["ErrorReports"]["Resource"] == {
            "Fn::Sub": "arn:${AWS::Partition}:s3:::${ErrorsBucket}/*error@*.zip"
        }

    def test_batching_endpoint_url_requires_iam_authentication(self, template):
        """The batching endpoint's function URL accepts only IAM-signed requests."""
        url = props(template, "BatchingEndpointUrl")
        assert url["AuthType"] == "AWS_IAM"
        assert url["TargetFunctionArn"] == {"Fn::GetAtt": ["ShepardSchedulerFunctionBatchingEndpoint", "Arn"]}

    def test_lustre_links_a_new_or_an_existing_bucket(self, template):
        """Lustre imports from the bucket it creates, or from LustreBucketName when told to use that."""
        lustre = template["Resources"]["LustreFileSystem"]
        assert lustre["Condition"] == "UseLustre"
        import_path = lustre["Properties"]["LustreConfiguration"]["ImportPath"]["Fn::If"]
        assert import_path == [
            "UseExistingBucketForLustre",
            {"Fn::Sub": "s3://${LustreBucketName}"},
            {"Fn::Sub": "s3://${LustreS3Bucket}"},
        ]
        assert template["Resources"]["LustreS3Bucket"]["Condition"] == "CreateLustreBucket"

    def test_secret_store_starts_empty(self, template):
        """The secret store starts as an empty JSON object for `shepard secretify` to fill."""
        assert props(template, "SecretStore")["SecretString"] == "{}"

    def test_every_bucket_blocks_public_access_and_denies_plain_http(self, template):
        """Every bucket blocks public access and has a policy denying requests without TLS."""
        buckets = [name for name, r in template["Resources"].items() if r["Type"] == "AWS::S3::Bucket"]
        policies = {
            r["Properties"]["Bucket"]["Ref"]: r["Properties"]["PolicyDocument"]
            for r in template["Resources"].values()
            if r["Type"] == "AWS::S3::BucketPolicy"
        }
        for name in buckets:
            assert all(props(template, name)["PublicAccessBlockConfiguration"].values()), name
        assert set(policies) == set(buckets)
        for document in policies.values():
            assert document["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


class TestLimits:
    def test_template_fits_the_size_cloudformation_accepts_from_s3(self):
        """The generated template stays under CloudFormation's 1 MB limit for a template read from S3."""
        assert TEMPLATE_PATH.stat().st_size < 1_000_000

    @pytest.mark.parametrize("logical_id", LAMBDAS)
    def test_inline_code_is_ascii_and_under_the_zipfile_limit(self, template, logical_id):
        """Each inline index.py is plain ASCII and well under the 4 MB ZipFile limit."""
        code = props(template, logical_id)["Code"]["ZipFile"]
        assert code.isascii()
        assert len(code.encode()) < 1_000_000


class TestReadme:
    def test_parameter_table_lists_every_parameter_with_its_default(self, template):
        """cloudformation/README.md's table has a row for every parameter, showing the template's default."""
        readme = (TEMPLATE_PATH.parent / "README.md").read_text(encoding="utf-8")
        rows = {}
        for line in readme.splitlines():
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 3 and cells[0].startswith("`"):
                rows[cells[0].strip("`")] = cells[1]
        assert set(rows) == set(template["Parameters"])
        for name, parameter in template["Parameters"].items():
            default = parameter.get("Default")
            shown = "*(required)*" if default is None else f"`{default}`" if default != "" else '`""`'
            assert rows[name] == shown, name

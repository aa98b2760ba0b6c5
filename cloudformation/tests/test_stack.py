"""The generated template creates a flock in moto's CloudFormation: every resource moto models exists."""

from __future__ import annotations

import pytest
from shepard_flock import LAMBDA_RUNTIME

# Resource types moto's CloudFormation skips or cannot create; they are checked in test_template.py instead.
NOT_MODELED = {
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SecretsManager::Secret",
    "AWS::FSx::FileSystem",
    "AWS::Lambda::Url",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::TopicPolicy",
    "AWS::SNS::Subscription",
    "AWS::Lambda::EventInvokeConfig",
}
DEFAULT_OFF = {  # conditional resources the defaults leave out
    "BatchInstanceSSHIngress",
    "EFSSecurityGroup",
    "EFSFileSystem",
    "EFSMountTarget1",
    "EFSMountTarget2",
    "LustreSecurityGroup",
    "LustreSelfIngress988",
    "LustreSelfIngress1018",
    "LustreFileSystem",
    "LustreS3Bucket",
    "AlarmEmailSubscription",
}


class TestDefaultStack:
    def test_creates_every_modeled_resource(self, stack, template):
        """Every resource of the default flock whose type moto models is created."""
        expected = {
            name
            for name, resource in template["Resources"].items()
            if resource["Type"] not in NOT_MODELED and name not in DEFAULT_OFF
        }
        assert expected <= set(stack.resources)

    def test_network_spans_two_zones_behind_nat(self, stack):
        """The VPC has a public and a private subnet in each of two zones and a NAT gateway per zone."""
        ec2 = stack.client("ec2")
        vpc_id = stack.resources["VPC"]
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        by_id = {subnet["SubnetId"]: subnet for subnet in subnets}
        public = [by_id[stack.resources[f"PublicSubnet{n}"]] for n in (1, 2)]
        private = [by_id[stack.resources[f"PrivateSubnet{n}"]] for n in (1, 2)]
        assert {s["CidrBlock"] for s in public} == {"10.192.0.0/24", "10.192.1.0/24"}
        assert {s["CidrBlock"] for s in private} == {"10.192.32.0/19", "10.192.64.0/19"}
        assert len({s["AvailabilityZone"] for s in public}) == 2
        assert {s["AvailabilityZone"] for s in public} == {s["AvailabilityZone"] for s in private}
        gateways = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NatGateways"]
        assert {g["SubnetId"] for g in gateways} == {s["SubnetId"] for s in public}

    def test_buckets_exist_under_the_given_names(self, stack):
        """The inputs, outputs, errors and quick-deploy buckets exist under the names passed in."""
        names = {bucket["Name"] for bucket in stack.client("s3").list_buckets()["Buckets"]}
        assert {"flock-inputs", "flock-outputs", "flock-errors", "flock-quick-deploy"} <= names
        assert stack.outputs["InputsBucket"] == "flock-inputs"
        assert stack.outputs["QuickDeployBucket"] == "flock-quick-deploy"

    def test_upload_queue_redrives_to_its_dead_letter_queue(self, stack):
        """The upload queue holds S3 events, outlasts six Lambda timeouts and redrives to the DLQ."""
        sqs = stack.client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=stack.outputs["SchedulerQueueUrl"], AttributeNames=["All"]
        )["Attributes"]
        dlq_arn = sqs.get_queue_attributes(
            QueueUrl=stack.outputs["DeadLetterQueueUrl"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        assert stack.outputs["SchedulerQueueUrl"].endswith("/flock-uploads")
        assert int(attributes["VisibilityTimeout"]) >= 6 * 60
        assert int(attributes["MaximumMessageSize"]) >= 64 * 1024
        assert '"maxReceiveCount": 10' in attributes["RedrivePolicy"].replace("'", '"')
        assert dlq_arn in attributes["RedrivePolicy"]

    def test_job_table_is_keyed_by_uuid(self, stack):
        """The job table is keyed by the job UUID string, billed per request."""
        table = stack.client("dynamodb").describe_table(TableName="flock-jobs")["Table"]
        assert table["KeySchema"] == [{"AttributeName": "UUID", "KeyType": "HASH"}]
        assert {"AttributeName": "UUID", "AttributeType": "S"} in table["AttributeDefinitions"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"

    @pytest.mark.parametrize(
        ("index", "key"), [("ByStatusGroup", "SHEPARD_LIST_GROUP"), ("ByTag", "SHEPARD_LIST_TAG")]
    )
    def test_job_table_lists_rows_through_its_indexes(self, stack, index, key):
        """The stack's table has both list indexes, and a Query of one finds rows newest first."""
        dynamodb = stack.client("dynamodb")
        table = dynamodb.describe_table(TableName="flock-jobs")["Table"]
        [found] = [gsi for gsi in table["GlobalSecondaryIndexes"] if gsi["IndexName"] == index]
        assert found["KeySchema"] == [
            {"AttributeName": key, "KeyType": "HASH"},
            {"AttributeName": "SHEPARD_LIST_TIME", "KeyType": "RANGE"},
        ]
        assert found["Projection"] == {"ProjectionType": "ALL"}
        for n in range(3):
            item = {
                "UUID": {"S": f"{index}-{n}"},
                key: {"S": "p#00"},
                "SHEPARD_LIST_TIME": {"S": f"t{n}#{n}"},
            }
            dynamodb.put_item(TableName="flock-jobs", Item=item)
        page = dynamodb.query(
            TableName="flock-jobs",
            IndexName=index,
            KeyConditionExpression="#k = :v",
            ExpressionAttributeNames={"#k": key},
            ExpressionAttributeValues={":v": {"S": "p#00"}},
            ScanIndexForward=False,
        )
        assert [item["UUID"]["S"] for item in page["Items"]] == [f"{index}-{n}" for n in (2, 1, 0)]

    def test_lambdas_run_the_inline_bundle_with_the_flock_environment(self, stack):
        """Both Lambdas run the flock's runtime, `index.handler`, with its resource names in their env."""
        aws_lambda = stack.client("lambda")
        for logical_id in ("ShepardSchedulerFunction", "ShepardSchedulerFunctionBatchingEndpoint"):
            configuration = aws_lambda.get_function_configuration(FunctionName=stack.resources[logical_id])
            assert configuration["Runtime"] == LAMBDA_RUNTIME
            assert configuration["Handler"] == "index.handler"
            environment = stack.function_environment(logical_id)
            assert environment["SHEPARD_TABLE_NAME"] == "flock-jobs"
            assert environment["SHEPARD_JOB_QUEUE"] == stack.outputs["JobQueue"]
            assert environment["SHEPARD_JOB_DEFINITION"] == stack.outputs["JobDefinition"]
            assert environment["SHEPARD_INPUTS_BUCKET"] == "flock-inputs"
            assert environment["SHEPARD_ERRORS_BUCKET"] == "flock-errors"
            assert str(environment["SHEPARD_DAYS_TO_KEEP_FAILED_LAUNCH_INDEXES"]) == "7"
            assert environment["SHEPARD_PROJECT_NAME"] == "FlockTest"

    def test_upload_queue_feeds_the_scheduler_with_partial_batch_failures(self, stack):
        """The event source mapping feeds the scheduler big batches (1,000, 1 s window) with item failures."""
        mappings = stack.client("lambda").list_event_source_mappings(
            FunctionName=stack.resources["ShepardSchedulerFunction"]
        )["EventSourceMappings"]
        assert len(mappings) == 1
        assert mappings[0]["EventSourceArn"].endswith(":flock-uploads")
        assert mappings[0]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert int(mappings[0]["BatchSize"]) == 1000
        assert int(mappings[0]["MaximumBatchingWindowInSeconds"]) == 1

    def test_container_repository_is_named(self, stack):
        """The ECR repository jobs pull `:latest` from exists under the given name."""
        repositories = stack.client("ecr").describe_repositories(repositoryNames=["flock-repo"])[
            "repositories"
        ]
        assert repositories[0]["repositoryUri"] == stack.outputs["ECRRepoUri"]

    def test_spot_compute_environment_is_capacity_optimized_in_private_subnets(self, stack):
        """By default jobs run on Spot, capacity-optimized, in the private subnets, launch-templated."""
        batch = stack.client("batch")
        environment = batch.describe_compute_environments(
            computeEnvironments=[stack.resources["ComputeEnvironment"]]
        )["computeEnvironments"][0]
        resources = environment["computeResources"]
        assert environment["type"] == "MANAGED"
        assert resources["type"] == "SPOT"
        assert resources["allocationStrategy"] == "SPOT_CAPACITY_OPTIMIZED"
        assert set(resources["subnets"]) == {
            stack.resources["PrivateSubnet1"],
            stack.resources["PrivateSubnet2"],
        }
        assert resources["launchTemplate"]["launchTemplateId"] == stack.resources["BatchLaunchTemplate"]
        # moto lower-cases the first letter of tag keys.
        tags = {key.lower(): value for key, value in resources["tags"].items()}
        assert tags == {
            "name": "shepard-sheep",
            "project": "FlockTest",
            "team": "shepard",
            "contact": "unset",
            "workloadtype": "batch",
        }
        queue = batch.describe_job_queues(jobQueues=[stack.outputs["JobQueue"]])["jobQueues"][0]
        assert queue["jobQueueName"] == "flock-job-queue"
        assert (
            queue["computeEnvironmentOrder"][0]["computeEnvironment"] == environment["computeEnvironmentArn"]
        )

    def test_job_definition_runs_the_privileged_worker_and_retries_only_lost_hosts(self, stack):
        """Jobs run `:latest` privileged, with the worker's env and mounts, retrying only lost hosts."""
        definition = stack.client("batch").describe_job_definitions(
            jobDefinitions=[stack.outputs["JobDefinition"]]
        )["jobDefinitions"][0]
        container = definition["containerProperties"]
        assert definition["jobDefinitionName"] == "flock-job"
        assert container["image"] == f"{stack.outputs['ECRRepoUri']}:latest"
        assert container["privileged"] is True
        assert container["ulimits"] == [{"name": "nofile", "softLimit": 1048576, "hardLimit": 1048576}]
        # moto leaves out the name of the secret it does not model, and keeps numbers as numbers.
        environment = {pair["name"]: str(pair.get("value")) for pair in container["environment"]}
        assert environment == {
            "AWS_DEFAULT_REGION": "us-east-1",
            "SHEPARD_TABLE_NAME": "flock-jobs",
            "SHEPARD_INPUTS_BUCKET": "flock-inputs",
            "SHEPARD_OUTPUTS_BUCKET": "flock-outputs",
            "SHEPARD_ERRORS_BUCKET": "flock-errors",
            "SHEPARD_QUICK_DEPLOY_BUCKET": "flock-quick-deploy",
            "SHEPARD_SECRET_STORE": "None",
            "USES_EFS": "False",
            "USES_LUSTRE": "False",
            "ULIMIT_FILENO": "1048576",
            "ALLOW_DOCKER_ACCESS": "False",
            "SHEPARD_PAYLOAD_NETWORK": "bridge",
            "SHEPARD_PIDS_LIMIT": "4096",
            "SHEPARD_PROJECT_NAME": "FlockTest",
            # The job's own size, recorded on its row for `shepard cost`: DesiredCPU and DesiredRam.
            "SHEPARD_JOB_VCPUS": "1",
            "SHEPARD_JOB_MEMORY_MIB": "2048",
        }
        assert {m["containerPath"] for m in container["mountPoints"]} == {
            "/var/run/docker.sock",
            "/mnt/root",
            "/mnt/efs",
            "/mnt/fsx",
        }
        rules = definition["retryStrategy"]["evaluateOnExit"]
        assert [{**rule, "action": rule["action"].upper()} for rule in rules] == [
            {"onStatusReason": "Host EC2*", "action": "RETRY"},
            {"onReason": "*", "action": "EXIT"},
        ]
        assert definition["retryStrategy"]["attempts"] == 3

    def test_launch_template_requires_imdsv2(self, stack):
        """Instances launched for jobs accept only IMDSv2 session tokens."""
        version = stack.client("ec2").describe_launch_template_versions(
            LaunchTemplateId=stack.resources["BatchLaunchTemplate"]
        )["LaunchTemplateVersions"][0]
        assert version["LaunchTemplateData"]["MetadataOptions"]["HttpTokens"] == "required"


class TestToggledStack:
    def test_efs_toggle_adds_a_file_system_with_a_mount_target_per_zone(self, make_stack):
        """ToggleEFS=True adds an encrypted EFS with a mount target in each instance subnet."""
        stack = make_stack(ToggleEFS="True")
        efs = stack.client("efs")
        file_system = efs.describe_file_systems(FileSystemId=stack.resources["EFSFileSystem"])["FileSystems"][
            0
        ]
        targets = efs.describe_mount_targets(FileSystemId=file_system["FileSystemId"])["MountTargets"]
        assert file_system["Encrypted"] is True
        assert {t["SubnetId"] for t in targets} == {
            stack.resources["PrivateSubnet1"],
            stack.resources["PrivateSubnet2"],
        }
        assert stack.outputs["EFSFileSystem"] == file_system["FileSystemId"]

    def test_on_demand_type_uses_best_fit_progressive_in_public_subnets(self, make_stack):
        """Ec2 runs on-demand instances best-fit-progressive; MakeSubnetsPublic picks the public subnets."""
        stack = make_stack(ComputeEnvironmentType="Ec2", MakeSubnetsPublic="True")
        resources = stack.client("batch").describe_compute_environments(
            computeEnvironments=[stack.resources["ComputeEnvironment"]]
        )["computeEnvironments"][0]["computeResources"]
        assert resources["type"] == "EC2"
        assert resources["allocationStrategy"] == "BEST_FIT_PROGRESSIVE"
        assert set(resources["subnets"]) == {
            stack.resources["PublicSubnet1"],
            stack.resources["PublicSubnet2"],
        }
        assert "SpotFleetRole" not in stack.resources

    def test_allocation_toggle_off_uses_best_fit(self, make_stack):
        """ToggleAllocationStrategy=False falls back to BEST_FIT."""
        stack = make_stack(ToggleAllocationStrategy="False")
        resources = stack.client("batch").describe_compute_environments(
            computeEnvironments=[stack.resources["ComputeEnvironment"]]
        )["computeEnvironments"][0]["computeResources"]
        assert resources["allocationStrategy"] == "BEST_FIT"

    def test_a_runnable_time_limit_still_creates_the_job_queue(self, make_stack):
        """RunnableTimeLimitMinutes=30 resolves its seconds from the mapping and the queue is created.

        moto keeps no JobStateTimeLimitActions; test_template.py checks what the queue is given.
        """
        stack = make_stack(RunnableTimeLimitMinutes="30")
        queues = stack.client("batch").describe_job_queues(jobQueues=[stack.resources["JobQueue"]])[
            "jobQueues"
        ]
        assert [(queue["jobQueueName"], queue["state"]) for queue in queues] == [
            ("flock-job-queue", "ENABLED")
        ]

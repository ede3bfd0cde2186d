//! The database's state on every stage's template: a data volume of its own beside
//! the host, which the host attaches itself at boot, daily snapshots, and patching
//! in place, each with the stage's settings.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{as_list, resources, statements, target, templates, user_data};

fn resource<'a>(template: &'a Value, id: &str) -> &'a Value {
    let resource = &template["Resources"][id];
    assert!(resource.is_object(), "no resource {id}");
    resource
}

/// The properties of the one resource of `resource_type`.
fn the_one<'a>(template: &'a Value, resource_type: &str) -> &'a Value {
    let found = resources(template, resource_type);
    assert_eq!(found.len(), 1, "{resource_type}: {:?}", found.iter().map(|(id, _)| id).collect::<Vec<_>>());
    &found[0].1["Properties"]
}

fn tag<'a>(resource: &'a Value, key: &str) -> Option<&'a str> {
    as_list(&resource["Properties"]["Tags"]).into_iter().find(|t| t["Key"] == key).and_then(|t| t["Value"].as_str())
}

#[test]
fn the_data_volume_is_encrypted_gp3_of_the_stage_size_in_the_hosts_zone_and_outlives_the_stack() {
    for (stage, template) in templates() {
        let volumes = resources(&template, "AWS::EC2::Volume");
        assert_eq!(volumes.iter().map(|(id, _)| *id).collect::<Vec<_>>(), ["DatabaseVolume"], "{}", stage.name);
        let volume = resource(&template, "DatabaseVolume");
        let p = &volume["Properties"];
        assert_eq!(p["Encrypted"], true, "{}", stage.name);
        assert_eq!(p["VolumeType"], "gp3", "{}", stage.name);
        assert_eq!(p["Size"], stage.database_volume_gb, "{}", stage.name);
        assert_eq!(volume["DeletionPolicy"], "Snapshot", "{}", stage.name);
        assert_eq!(volume["UpdateReplacePolicy"], "Snapshot", "{}", stage.name);
        assert_eq!(tag(volume, "zipster-database"), Some(stage.name.as_str()));
        assert_eq!(tag(volume, "stage"), Some(stage.name.as_str()));
        // The same zone as the host's subnet, by the same expression.
        let subnet = target(&resource(&template, "DatabaseHost")["Properties"]["SubnetId"]).unwrap();
        let zone = &resource(&template, subnet)["Properties"]["AvailabilityZone"];
        assert_eq!(&p["AvailabilityZone"], zone, "{}", stage.name);
        assert_eq!(zone, &json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        // The root volume goes with the host: it holds nothing that must survive.
        let root = &resource(&template, "DatabaseHost")["Properties"]["BlockDeviceMappings"][0]["Ebs"];
        assert_eq!(root["DeleteOnTermination"], true);
        assert!(root["VolumeSize"].as_u64().unwrap() < u64::from(stage.database_volume_gb), "{}", stage.name);
    }
}

#[test]
fn the_host_attaches_its_own_volume_and_nothing_else_does() {
    for (stage, template) in templates() {
        assert!(resources(&template, "AWS::EC2::VolumeAttachment").is_empty(), "{}", stage.name);
        let host = resource(&template, "DatabaseHost");
        assert!(host["Properties"].get("Volumes").is_none(), "{}", stage.name);
        // A signal could only come after CloudFormation deletes the old host: a deadlock.
        assert!(host.get("CreationPolicy").is_none(), "{}", stage.name);
        assert!(as_list(&host["DependsOn"]).contains(&&json!("Ec2Endpoint")), "{}", stage.name);
        let endpoint = &resource(&template, "Ec2Endpoint")["Properties"];
        assert_eq!(endpoint["ServiceName"], json!({"Fn::Sub": "com.amazonaws.${AWS::Region}.ec2"}));
        assert_eq!(endpoint["SubnetIds"], json!([host["Properties"]["SubnetId"]]));

        let script = user_data(&template);
        assert!(script.starts_with("#!/bin/bash\nset -euo pipefail\n"), "{}", stage.name);
        assert!(script.len() < 16 * 1024, "{}: user data is {} bytes, EC2 takes 16 KiB", stage.name, script.len());
        let position = |needle: &str| script.find(needle).unwrap_or_else(|| panic!("{}: no {needle:?}", stage.name));
        let order = [
            "cat > /usr/local/sbin/zipster-data-volume <<'ZIPSTER_HOST_SCRIPT_EOF'",
            "cat > /usr/local/sbin/zipster-database-tls <<'ZIPSTER_HOST_SCRIPT_EOF'",
            "cat > /usr/local/sbin/zipster-database-access <<'ZIPSTER_HOST_SCRIPT_EOF'",
            "dnf install -y mariadb105-server",
            "volume=${DatabaseVolume}",
            "X-aws-ec2-metadata-token-ttl-seconds",
            "deadline=$((SECONDS + 1200))",
            "until aws ec2 attach-volume --region \"$region\" --volume-id \"$volume\" --instance-id \"$instance\" --device /dev/sdf",
            "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_",
            "/usr/local/sbin/zipster-data-volume \"$device\" /var/lib/mysql",
            "/usr/local/sbin/zipster-database-tls /var/lib/mysql mysql \"$hostname\" \"$address\"",
            "RequiresMountsFor=/var/lib/mysql",
            "systemctl restart mariadb",
            "secretsmanager get-secret-value",
            "/usr/local/sbin/zipster-database-access zipster",
            "secretsmanager put-secret-value",
        ]
        .map(position);
        assert!(order.is_sorted(), "{}: boot steps out of order: {order:?}", stage.name);
        assert_eq!(script.matches("systemctl restart mariadb").count(), 1);
        // The host scripts, verbatim but for their comments: their `${…}` are bash's,
        // never CloudFormation's.
        let literal = template["Resources"]["DatabaseHost"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Join"][1][0]
            .as_str()
            .unwrap();
        for host_script in [
            include_str!("../host/data-volume.sh"),
            include_str!("../host/database-tls.sh"),
            include_str!("../host/database-access.sh"),
        ] {
            let installed = zipster_infra::constructs::host::without_comments(host_script);
            assert!(installed.lines().count() > 20, "{}", stage.name);
            assert!(literal.contains(&installed), "{}: a host script must not go through Fn::Sub", stage.name);
        }
    }
}

#[test]
fn the_host_role_may_attach_only_the_data_volume_to_only_this_stages_instances() {
    for (stage, template) in templates() {
        let role = resource(&template, "DatabaseHostRole");
        let attach: Vec<&Value> = statements(role)
            .into_iter()
            .filter(|s| as_list(&s["Action"]).iter().any(|a| a.as_str().unwrap().starts_with("ec2:")))
            .collect();
        let volume_arn = json!({"Fn::Sub":
            "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/${DatabaseVolume}"});
        let instances = json!({"Fn::Sub": "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"});
        let expected = [
            (json!(["ec2:AttachVolume"]), json!([volume_arn]), Value::Null),
            (
                json!(["ec2:AttachVolume"]),
                json!([instances]),
                json!({"StringEquals": {"aws:ResourceTag/stage": stage.name, "aws:ResourceTag/project": "zipster"}}),
            ),
            (json!(["ec2:DescribeVolumes"]), json!(["*"]), Value::Null),
        ];
        let found: Vec<(Value, Value, Value)> =
            attach.iter().map(|s| (s["Action"].clone(), s["Resource"].clone(), s["Condition"].clone())).collect();
        assert_eq!(found, expected, "{}", stage.name);
        // Every statement that lets anyone attach a volume names this one.
        for (id, r) in template["Resources"].as_object().unwrap() {
            for s in statements(r) {
                if as_list(&s["Action"]).contains(&&json!("ec2:AttachVolume")) && id != "DatabaseHostRole" {
                    panic!("{}: {id} may attach volumes: {s}", stage.name);
                }
            }
        }
    }
}

#[test]
fn the_host_is_patched_in_place_on_the_stage_schedule_with_output_to_the_logs_bucket() {
    for (stage, template) in templates() {
        let p = the_one(&template, "AWS::SSM::Association");
        assert_eq!(p["Name"], "AWS-RunPatchBaseline");
        assert_eq!(p["Targets"], json!([{"Key": "InstanceIds", "Values": [{"Ref": "DatabaseHost"}]}]));
        assert_eq!(p["ScheduleExpression"], stage.patch_schedule, "{}", stage.name);
        assert!(p["ScheduleExpression"].as_str().unwrap().starts_with("cron("));
        assert_eq!(p["ApplyOnlyAtCronInterval"], true, "{}: never right after a host is created", stage.name);
        assert_eq!(p["Parameters"], json!({"Operation": ["Install"], "RebootOption": ["RebootIfNeeded"]}));
        let s3 = &p["OutputLocation"]["S3Location"];
        assert_eq!(target(&s3["OutputS3BucketName"]), Some("LogsBucket"));
        assert_eq!(s3["OutputS3KeyPrefix"], "ssm-patching");

        // The instance role writes the output (SSM Agent runs on the host), admitted by
        // its own policy and by the logs bucket's.
        let logs = format!("zipster-{}-logs-${{AWS::AccountId}}-${{AWS::Region}}", stage.name);
        let objects = json!({"Fn::Sub": format!("arn:${{AWS::Partition}}:s3:::{logs}/ssm-patching/*")});
        let role = resource(&template, "DatabaseHostRole");
        let writes = statements(role).into_iter().any(|s| {
            s["Action"] == json!(["s3:PutObject"])
                && as_list(&s["Resource"]).contains(&&objects)
                && s["Effect"] == "Allow"
        });
        assert!(writes, "{}: the host role cannot write the patching output", stage.name);
        let bucket_policy = resource(&template, "LogsBucketPolicy");
        let admitted = statements(bucket_policy).into_iter().any(|s| {
            s["Principal"]["AWS"] == json!({"Fn::GetAtt": ["DatabaseHostRole", "Arn"]})
                && s["Action"] == json!(["s3:PutObject"])
                && s["Resource"] == json!([objects.clone()])
        });
        assert!(admitted, "{}: the logs bucket does not admit the host's patching output", stage.name);
    }
}

#[test]
fn the_data_volume_is_snapshotted_daily_and_kept_the_stage_retention() {
    for (stage, template) in templates() {
        let p = the_one(&template, "AWS::DLM::LifecyclePolicy");
        assert_eq!(p["State"], "ENABLED");
        let details = &p["PolicyDetails"];
        assert_eq!(details["PolicyType"], "EBS_SNAPSHOT_MANAGEMENT");
        assert_eq!(details["ResourceTypes"], json!(["VOLUME"]));
        assert_eq!(details["TargetTags"], json!([{"Key": "zipster-database", "Value": stage.name}]));
        // The tag it targets is on the data volume, and on nothing else.
        let tagged: Vec<&str> = template["Resources"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, r)| tag(r, "zipster-database") == Some(stage.name.as_str()))
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(tagged, ["DatabaseVolume"], "{}", stage.name);
        let schedules = as_list(&details["Schedules"]);
        assert_eq!(schedules.len(), 1, "{}", stage.name);
        let rule = &schedules[0]["CreateRule"];
        assert_eq!((rule["Interval"].as_u64(), rule["IntervalUnit"].as_str()), (Some(24), Some("HOURS")));
        let retain = &schedules[0]["RetainRule"];
        assert_eq!(retain, &json!({"Interval": stage.snapshot_retention_days, "IntervalUnit": "DAYS"}));
        let role = resource(&template, target(&p["ExecutionRoleArn"]).unwrap());
        assert_eq!(role["Type"], "AWS::IAM::Role");
        let trust = &role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"];
        assert_eq!(trust["Service"], "dlm.amazonaws.com");
        assert_eq!(
            role["Properties"]["ManagedPolicyArns"],
            json!([{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"}])
        );
    }
}

/// The whole user data, with CloudFormation's substitutions made, is a script that
/// bash parses and shellcheck passes with every optional check (as the disk script).
#[test]
fn the_user_data_is_a_clean_bash_script() {
    let shellcheck = zipster_tools::venv::tool("shellcheck").expect("shellcheck from the project's venv");
    for (stage, template) in templates() {
        let script = user_data(&template)
            .replace("${AWS::Region}", &stage.region)
            .replace("${DatabaseVolume}", "vol-0123456789abcdef0")
            .replace("${MigrateDatabaseSecret}", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:zipster-m")
            .replace("${LoadDatabaseSecret}", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:zipster-l");
        assert!(!script.contains("${AWS::") && !script.contains("${Database"), "{}: a substitution left", stage.name);
        let path = std::env::temp_dir().join(format!("zipster-user-data-{}-{}.sh", stage.name, std::process::id()));
        std::fs::write(&path, &script).unwrap();
        let syntax = Command::new("bash").arg("-n").arg(&path).output().unwrap();
        assert!(syntax.status.success(), "{}: {}", stage.name, String::from_utf8_lossy(&syntax.stderr));
        let out = Command::new(&shellcheck)
            .args(["--shell=bash", "--severity=style", "--enable=all", "--exclude=SC2250"])
            .arg(&path)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", shellcheck.display()));
        std::fs::remove_file(&path).unwrap();
        assert!(out.status.success(), "{}: shellcheck:\n{}", stage.name, String::from_utf8_lossy(&out.stdout));
    }
}

//! The restore procedure of infra/README.md ("Backups and restore"), step by step on
//! moto: find the data volume by its `zipster-database` tag, its zone and its
//! snapshots; create a volume from the newest snapshot in that zone; stop the host,
//! detach the old volume, attach the new one at `/dev/sdf`, start the host. boto3
//! (from the project's venv, which moto needs anyway) makes the same calls as the
//! README's `aws` commands, one for one. What moto cannot show: the data on the
//! volumes (it has no block devices), DLM (no snapshots on a schedule: the test takes
//! the one the policy would), and the XFS UUID that the fstab line matches on.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::process::Command;

use serde_json::Value;
use support::templates;
use zipster_tools::moto::MotoServer;

/// The README's commands, as boto3 calls; prints what it found as one JSON line.
const RESTORE: &str = r#"
import json, sys
import boto3

endpoint, zone, size, stage = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
ec2 = boto3.client("ec2", endpoint_url=endpoint, region_name="us-east-1")

# What the stack made: the data volume as the template describes it, the host, attached.
tags = [{"Key": "project", "Value": "zipster"}, {"Key": "stage", "Value": stage},
        {"Key": "zipster-database", "Value": stage}]
original = ec2.create_volume(AvailabilityZone=zone, Size=size, VolumeType="gp3", Encrypted=True,
                             TagSpecifications=[{"ResourceType": "volume", "Tags": tags}])["VolumeId"]
host = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t4g.micro",
                         Placement={"AvailabilityZone": zone})["Instances"][0]["InstanceId"]
ec2.attach_volume(VolumeId=original, InstanceId=host, Device="/dev/sdf")
# The daily snapshot DLM would have taken.
ec2.create_snapshot(VolumeId=original, Description="daily")

# --- the README's procedure ---
volume = ec2.describe_volumes(Filters=[{"Name": "tag:zipster-database", "Values": [stage]}])["Volumes"][0]["VolumeId"]
zone_found = ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["AvailabilityZone"]
snapshots = ec2.describe_snapshots(OwnerIds=["self"], Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
snapshot = sorted(snapshots, key=lambda s: s["StartTime"])[-1]["SnapshotId"]
new = ec2.create_volume(AvailabilityZone=zone_found, SnapshotId=snapshot, VolumeType="gp3", Encrypted=True)["VolumeId"]
ec2.get_waiter("volume_available").wait(VolumeIds=[new])
ec2.stop_instances(InstanceIds=[host])
ec2.get_waiter("instance_stopped").wait(InstanceIds=[host])
ec2.detach_volume(VolumeId=volume, InstanceId=host)
ec2.get_waiter("volume_available").wait(VolumeIds=[volume])
ec2.attach_volume(VolumeId=new, InstanceId=host, Device="/dev/sdf")
ec2.start_instances(InstanceIds=[host])
# --- end ---

described = {v["VolumeId"]: v for v in ec2.describe_volumes(VolumeIds=[original, new])["Volumes"]}
state = ec2.describe_instances(InstanceIds=[host])["Reservations"][0]["Instances"][0]["State"]["Name"]
print(json.dumps({
    "found": volume == original,
    "original": {"state": described[original]["State"], "attachments": described[original]["Attachments"]},
    "new": {"attached_to": [a["InstanceId"] for a in described[new]["Attachments"]],
            "device": [a["Device"] for a in described[new]["Attachments"]],
            "snapshot": described[new]["SnapshotId"] == snapshot,
            "zone": described[new]["AvailabilityZone"], "encrypted": described[new]["Encrypted"]},
    "host": host, "host_state": state,
}, default=str))
"#;

/// Every `aws ec2` step of the README's restore block is one call of [`RESTORE`], in
/// the same order, so the two cannot drift apart.
#[test]
fn the_readme_restore_and_this_test_make_the_same_calls() {
    let readme = include_str!("../README.md");
    let block = readme.split("### Backups and restore").nth(1).unwrap().split("```sh").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    let readme_calls: Vec<String> = block
        .split(['\n', '('])
        .filter_map(|line| line.trim().strip_prefix("aws ec2 "))
        .map(|command| {
            let mut words = command.split_whitespace();
            let first = words.next().unwrap();
            let call = if first == "wait" { format!("wait {}", words.next().unwrap()) } else { first.to_owned() };
            call.replace('-', "_")
        })
        .collect();
    let procedure =
        RESTORE.split("# --- the README's procedure ---").nth(1).unwrap().split("# --- end ---").next().unwrap();
    let test_calls: Vec<String> = procedure
        .split("ec2.")
        .skip(1)
        .map(|call| {
            let name = call.split('(').next().unwrap();
            if name == "get_waiter" { format!("wait {}", call.split('"').nth(1).unwrap()) } else { name.to_owned() }
        })
        .collect();
    assert_eq!(readme_calls, test_calls);
}

#[test]
fn the_readme_restore_swaps_a_volume_made_from_a_snapshot_in_the_hosts_zone() {
    let (stage, template) = templates().into_iter().find(|(s, _)| s.name == "local").unwrap();
    // The zone moto gives Fn::Select [0, Fn::GetAZs ""] in the local stage's region.
    let zone = format!("{}a", stage.region);
    assert_eq!(
        template["Resources"]["DatabaseVolume"]["Properties"]["AvailabilityZone"],
        serde_json::json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]})
    );
    let moto = MotoServer::start().unwrap();
    let python = zipster_tools::venv::tool("python").unwrap();
    let out = Command::new(python)
        .args(["-c", RESTORE, &moto.endpoint, &zone, &stage.database_volume_gb.to_string(), &stage.name])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "restore failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["found"], true, "{result}");
    assert_eq!(result["original"]["state"], "available", "{result}");
    assert_eq!(result["new"]["attached_to"], serde_json::json!([result["host"]]), "{result}");
    assert_eq!(result["new"]["device"], serde_json::json!(["/dev/sdf"]), "{result}");
    assert_eq!(result["new"]["snapshot"], true, "{result}");
    assert_eq!(result["new"]["zone"], zone.as_str(), "{result}");
    assert_eq!(result["new"]["encrypted"], true, "{result}");
}

"""moto for the local stage: the deploy helper's launcher (tests/support/moto_launcher.py,
its patches for deploying the template) plus one more measured gap, on moto 5.2.5.

S3 event notifications: moto's records lack `userIdentity`, `requestParameters`,
`responseElements` and the object's `versionId` and `sequencer`, which S3 always
sends (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html);
strict parsers (aws_lambda_events) refuse such records, and the load orders versions
by `sequencer`. This adds them as S3 would. Usage: python moto_local.py -H 127.0.0.1 -p PORT
"""

import itertools
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support"))

import moto_launcher  # noqa: E402


def s3_events_carry_every_field():
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


if __name__ == "__main__":
    s3_events_carry_every_field()
    moto_launcher.main()

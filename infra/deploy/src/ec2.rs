//! The three EC2 calls `destroy` makes for the data volume's snapshots
//! (DescribeSnapshots, DeleteSnapshot, CreateTags), as EC2 Query API requests through
//! [`crate::query`] (which says why not aws-sdk-ec2).

use anyhow::Result;
use aws_types::SdkConfig;

use crate::query::{self, Document, Failure, QueryClient, ScopedDecoder, text};

/// The most DescribeSnapshots returns per page (it also accepts no more).
const PAGE_SIZE: &str = "1000";
/// EC2 takes at most 200 values per filter.
const FILTER_VALUES: usize = 200;

/// One EBS snapshot, as DescribeSnapshots describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: String,
    /// `pending`, `completed`, `error`, …
    pub state: String,
    pub start_time: String,
    pub tags: Vec<(String, String)>,
}

impl Snapshot {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// An EC2 client for one region, from the same configuration as the SDK clients.
#[derive(Clone, Debug)]
pub struct Ec2 {
    query: QueryClient,
}

impl Ec2 {
    pub fn from_config(config: &SdkConfig, region: &str) -> Self {
        Self { query: QueryClient::from_config(config, region, query::EC2) }
    }

    /// Every snapshot this account owns whose `filter` (`volume-id`,
    /// `tag:zipster-database`, …) is one of `values`, all pages.
    pub async fn snapshots(&self, filter: &str, values: &[String]) -> Result<Vec<Snapshot>> {
        let mut snapshots = Vec::new();
        for chunk in values.chunks(FILTER_VALUES) {
            let mut next: Option<String> = None;
            loop {
                let mut params = vec![
                    ("Owner.1".to_owned(), "self".to_owned()),
                    ("Filter.1.Name".to_owned(), filter.to_owned()),
                    ("MaxResults".to_owned(), PAGE_SIZE.to_owned()),
                ];
                for (n, value) in chunk.iter().enumerate() {
                    params.push((format!("Filter.1.Value.{}", n + 1), value.clone()));
                }
                if let Some(token) = next.take() {
                    params.push(("NextToken".to_owned(), token));
                }
                let resource = format!("{filter}={}", chunk.join(","));
                let body = self.query.call("DescribeSnapshots", &resource, params).await?;
                let page = parse_snapshots(&body)
                    .map_err(|cause| self.query.unreadable("DescribeSnapshots", &resource, &cause))?;
                snapshots.extend(page.snapshots);
                match page.next_token {
                    Some(token) => next = Some(token),
                    None => break,
                }
            }
        }
        Ok(snapshots)
    }

    /// Deletes one snapshot. One already gone is no error: deleted meanwhile by someone
    /// else, or by this call's own first attempt when only its answer was lost.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        let params = vec![("SnapshotId".to_owned(), id.to_owned())];
        match self.query.attempts("DeleteSnapshot", params).await {
            Ok(_) => Ok(()),
            Err(Failure::Service { code, .. }) if code == "InvalidSnapshot.NotFound" => Ok(()),
            Err(failure) => Err(self.query.failure("DeleteSnapshot", id, failure)),
        }
    }

    /// Puts the tag `key=value` on the resources `ids`.
    pub async fn tag(&self, ids: &[String], key: &str, value: &str) -> Result<()> {
        let mut params: Vec<(String, String)> =
            ids.iter().enumerate().map(|(n, id)| (format!("ResourceId.{}", n + 1), id.clone())).collect();
        params.push(("Tag.1.Key".to_owned(), key.to_owned()));
        params.push(("Tag.1.Value".to_owned(), value.to_owned()));
        self.query.call("CreateTags", &ids.join(","), params).await.map(drop)
    }
}

/// One page of a DescribeSnapshots answer.
#[derive(Debug, PartialEq)]
struct Page {
    snapshots: Vec<Snapshot>,
    next_token: Option<String>,
}

fn parse_snapshots(xml: &str) -> Result<Page, String> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    if !root.start_el().matches("DescribeSnapshotsResponse") {
        return Err(format!("expected DescribeSnapshotsResponse, found {}", root.start_el().local()));
    }
    let mut page = Page { snapshots: Vec::new(), next_token: None };
    while let Some(mut tag) = root.next_tag() {
        match tag.start_el().local() {
            "snapshotSet" => {
                while let Some(mut item) = tag.next_tag() {
                    page.snapshots.push(parse_snapshot(&mut item)?);
                }
            }
            "nextToken" => page.next_token = Some(text(&mut tag)?).filter(|t| !t.is_empty()),
            _ => {}
        }
    }
    Ok(page)
}

fn parse_snapshot(item: &mut ScopedDecoder<'_, '_>) -> Result<Snapshot, String> {
    let (mut id, mut volume_id, mut state, mut start_time, mut tags) =
        (String::new(), String::new(), String::new(), String::new(), Vec::new());
    while let Some(mut field) = item.next_tag() {
        match field.start_el().local() {
            "snapshotId" => id = text(&mut field)?,
            "volumeId" => volume_id = text(&mut field)?,
            "status" => state = text(&mut field)?,
            "startTime" => start_time = text(&mut field)?,
            "tagSet" => {
                while let Some(mut tag) = field.next_tag() {
                    let (mut key, mut value) = (String::new(), String::new());
                    while let Some(mut part) = tag.next_tag() {
                        match part.start_el().local() {
                            "key" => key = text(&mut part)?,
                            "value" => value = text(&mut part)?,
                            _ => {}
                        }
                    }
                    tags.push((key, value));
                }
            }
            _ => {}
        }
    }
    if id.is_empty() {
        return Err("a snapshot without a snapshotId".to_owned());
    }
    Ok(Snapshot { id, volume_id, state, start_time, tags })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// DescribeSnapshots as EC2 documents it: one DLM snapshot with its copied tags, a
    /// final one without tags, and a next page.
    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <snapshotSet>
        <item>
            <snapshotId>snap-1234567890abcdef0</snapshotId>
            <volumeId>vol-0aaaaaaaaaaaaaaaa</volumeId>
            <status>completed</status>
            <startTime>2026-11-30T02:00:12.000Z</startTime>
            <progress>100%</progress>
            <ownerId>123456789012</ownerId>
            <volumeSize>20</volumeSize>
            <description>Created for policy: policy-0123 schedule: daily &amp; kept</description>
            <encrypted>true</encrypted>
            <tagSet>
                <item><key>zipster-database</key><value>dev</value></item>
                <item><key>zipster-snapshot</key><value>daily</value></item>
                <item><key>dlm:managed</key><value>true</value></item>
            </tagSet>
        </item>
        <item>
            <snapshotId>snap-0fedcba9876543210</snapshotId>
            <volumeId>vol-0aaaaaaaaaaaaaaaa</volumeId>
            <status>pending</status>
            <startTime>2026-12-01T10:15:00.000Z</startTime>
            <progress>5%</progress>
            <ownerId>123456789012</ownerId>
            <volumeSize>20</volumeSize>
            <description></description>
            <encrypted>true</encrypted>
        </item>
    </snapshotSet>
    <nextToken>eyJ2IjoiMiIsImMiOiJ+a2V5In0=</nextToken>
</DescribeSnapshotsResponse>"#;

    #[test]
    fn a_describe_snapshots_page_is_read_with_tags_and_the_next_token() {
        let page = parse_snapshots(PAGE).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiIsImMiOiJ+a2V5In0="));
        assert_eq!(page.snapshots.len(), 2);
        let daily = &page.snapshots[0];
        assert_eq!(daily.id, "snap-1234567890abcdef0");
        assert_eq!(daily.volume_id, "vol-0aaaaaaaaaaaaaaaa");
        assert_eq!(daily.state, "completed");
        assert_eq!(daily.start_time, "2026-11-30T02:00:12.000Z");
        assert_eq!(daily.tag("zipster-database"), Some("dev"));
        assert_eq!(daily.tag("zipster-snapshot"), Some("daily"));
        let last = &page.snapshots[1];
        assert_eq!((last.id.as_str(), last.state.as_str()), ("snap-0fedcba9876543210", "pending"));
        assert!(last.tags.is_empty());
    }

    #[test]
    fn the_last_page_has_no_token_and_an_empty_set_is_no_snapshot() {
        let last = r#"<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <requestId>r</requestId><snapshotSet/></DescribeSnapshotsResponse>"#;
        assert_eq!(parse_snapshots(last).unwrap(), Page { snapshots: Vec::new(), next_token: None });
        assert!(parse_snapshots("<html>gateway timeout</html>").is_err());
        assert!(parse_snapshots("not xml at all").is_err());
    }
}

//! The stack's alarms and their state, for `status`: the names are the stack's
//! `AWS::CloudWatch::Alarm` resources (their physical ids, which are the template's
//! `AlarmName`s), the states CloudWatch's `DescribeAlarms`, called through the deploy
//! engine's Query API caller ([`zipster_deploy::query`]) rather than aws-sdk-cloudwatch.

use anyhow::Result;
use aws_sdk_cloudformation::types::StackResourceSummary;
use zipster_deploy::query::{Document, ScopedDecoder, text};

use crate::Stage;

/// The stack's resource type of an alarm.
const ALARM_TYPE: &str = "AWS::CloudWatch::Alarm";
/// DescribeAlarms takes at most 100 names per call.
const NAMES_PER_CALL: usize = 100;

/// One alarm's state, as CloudWatch tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmState {
    pub name: String,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`; `MISSING` when the stack has the alarm and
    /// CloudWatch does not (deleted outside the stack).
    pub state: String,
    /// `2026-12-01 10:00:00.123` (UTC), when it entered that state.
    pub since: String,
    pub reason: String,
}

impl AlarmState {
    pub fn firing(&self) -> bool {
        self.state == "ALARM"
    }

    /// ALARM first, then the states that say nothing (missing, no data), then OK.
    fn rank(&self) -> u8 {
        match self.state.as_str() {
            "ALARM" => 0,
            "MISSING" => 1,
            "INSUFFICIENT_DATA" => 2,
            _ => 3,
        }
    }
}

/// The names of the stack's alarms (its resources' physical ids), sorted.
async fn alarm_names(stage: &Stage) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut pages =
        stage.clients.cloudformation.list_stack_resources().stack_name(&stage.stack).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(stage.clients.error("ListStackResources", &stage.stack))?;
        let alarms = page.stack_resource_summaries().iter().filter(|r| r.resource_type() == Some(ALARM_TYPE));
        names.extend(alarms.filter_map(StackResourceSummary::physical_resource_id).map(str::to_owned));
    }
    names.sort();
    Ok(names)
}

/// Every alarm of the stack with its state, ALARM first (then by name).
pub async fn alarms(stage: &Stage) -> Result<Vec<AlarmState>> {
    let names = alarm_names(stage).await?;
    let mut found = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut next: Option<String> = None;
        loop {
            let mut params: Vec<(String, String)> = chunk
                .iter()
                .enumerate()
                .map(|(n, name)| (format!("AlarmNames.member.{}", n + 1), name.clone()))
                .collect();
            params.push(("AlarmTypes.member.1".to_owned(), "MetricAlarm".to_owned()));
            if let Some(token) = next.take() {
                params.push(("NextToken".to_owned(), token));
            }
            let resource = format!("{} alarm(s) of {}", chunk.len(), stage.stack);
            let body = stage.cloudwatch.call("DescribeAlarms", &resource, params).await?;
            let (page, token) = parse_alarms(&body)
                .map_err(|cause| stage.cloudwatch.unreadable("DescribeAlarms", &resource, &cause))?;
            found.extend(page);
            match token {
                Some(token) => next = Some(token),
                None => break,
            }
        }
    }
    Ok(with_missing(&names, found))
}

/// `found`, plus a `MISSING` entry for each of `names` CloudWatch did not describe,
/// ALARM first, then by name.
fn with_missing(names: &[String], mut found: Vec<AlarmState>) -> Vec<AlarmState> {
    for name in names {
        if !found.iter().any(|a| &a.name == name) {
            found.push(AlarmState {
                name: name.clone(),
                state: "MISSING".to_owned(),
                since: String::new(),
                reason: "the stack has this alarm, CloudWatch does not: deleted outside the stack? \
                         (`cargo xtask drift`, then deploy)"
                    .to_owned(),
            });
        }
    }
    found.sort_by(|a, b| a.rank().cmp(&b.rank()).then_with(|| a.name.cmp(&b.name)));
    found
}

/// One page of a DescribeAlarms answer: its metric alarms and the next token.
fn parse_alarms(xml: &str) -> Result<(Vec<AlarmState>, Option<String>), String> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    if !root.start_el().matches("DescribeAlarmsResponse") {
        return Err(format!("expected DescribeAlarmsResponse, found {}", root.start_el().local()));
    }
    let (mut alarms, mut next) = (Vec::new(), None);
    while let Some(mut result) = root.next_tag() {
        if !result.start_el().matches("DescribeAlarmsResult") {
            continue;
        }
        while let Some(mut tag) = result.next_tag() {
            match tag.start_el().local() {
                "MetricAlarms" => {
                    while let Some(mut member) = tag.next_tag() {
                        alarms.push(parse_alarm(&mut member)?);
                    }
                }
                "NextToken" => next = Some(text(&mut tag)?).filter(|t| !t.is_empty()),
                _ => {}
            }
        }
    }
    Ok((alarms, next))
}

fn parse_alarm(member: &mut ScopedDecoder<'_, '_>) -> Result<AlarmState, String> {
    let mut alarm =
        AlarmState { name: String::new(), state: String::new(), since: String::new(), reason: String::new() };
    while let Some(mut field) = member.next_tag() {
        match field.start_el().local() {
            "AlarmName" => alarm.name = text(&mut field)?,
            "StateValue" => alarm.state = text(&mut field)?,
            "StateReason" => alarm.reason = text(&mut field)?,
            "StateUpdatedTimestamp" => alarm.since = readable_time(&text(&mut field)?),
            _ => {}
        }
    }
    if alarm.name.is_empty() {
        return Err("an alarm without an AlarmName".to_owned());
    }
    Ok(alarm)
}

/// `2026-12-01T10:00:00.123Z` (or `…:00.123456+00:00`, or no fraction) →
/// `2026-12-01 10:00:00.123`, as `status` prints every other time. CloudWatch answers
/// in UTC; anything else is shown as it came.
fn readable_time(iso: &str) -> String {
    let utc = iso.strip_suffix('Z').or_else(|| iso.strip_suffix("+00:00"));
    let Some((date, time)) = utc.and_then(|t| t.split_once('T')) else { return iso.to_owned() };
    let (seconds, fraction) = time.split_once('.').unwrap_or((time, ""));
    let millis: String = fraction.chars().chain(std::iter::repeat('0')).take(3).collect();
    format!("{date} {seconds}.{millis}")
}

/// The alarms' lines for `status`: ALARM ones loud, with what to do next.
pub fn render(alarms: &[AlarmState], stage_name: &str) -> String {
    if alarms.is_empty() {
        return "alarms: the stack has none\n".to_owned();
    }
    let firing = alarms.iter().filter(|a| a.firing()).count();
    let mut out = match firing {
        0 => format!("alarms: {} — none in ALARM\n", alarms.len()),
        n => format!("alarms: {} — {n} IN ALARM\n", alarms.len()),
    };
    for alarm in alarms {
        let mark = if alarm.firing() { "!!" } else { "  " };
        out.push_str(&format!("{mark} {:<17} {:<23}  {}: {}\n", alarm.state, alarm.since, alarm.name, alarm.reason));
    }
    if firing > 0 {
        out.push_str(&format!(
            "!! next: `cargo xtask logs --stage {stage_name} --since 1h` for the failures, then, once the cause \
             is fixed, `cargo xtask redrive --stage {stage_name}`\n"
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// DescribeAlarms as CloudWatch documents it: one alarm in ALARM with nested
    /// dimensions and actions, one OK, and a next page.
    const PAGE: &str = r#"<DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <DescribeAlarmsResult>
    <MetricAlarms>
      <member>
        <AlarmName>zipster-dev-load-errors</AlarmName>
        <AlarmArn>arn:aws:cloudwatch:eu-west-1:123456789012:alarm:zipster-dev-load-errors</AlarmArn>
        <Dimensions><member><Name>FunctionName</Name><Value>zipster-dev-load</Value></member></Dimensions>
        <AlarmActions><member>arn:aws:sns:eu-west-1:123456789012:zipster-dev-alerts</member></AlarmActions>
        <StateValue>ALARM</StateValue>
        <StateReason>Threshold Crossed: 1 datapoint [2.0 (01/12/26 10:00:00)] was greater than the threshold (0.0).</StateReason>
        <StateReasonData>{"version":"1.0"}</StateReasonData>
        <StateUpdatedTimestamp>2026-12-01T10:00:00.123Z</StateUpdatedTimestamp>
      </member>
      <member>
        <AlarmName>zipster-dev-dead-letter-messages</AlarmName>
        <StateValue>OK</StateValue>
        <StateReason>Threshold Crossed: no datapoints &amp; treated as not breaching</StateReason>
        <StateUpdatedTimestamp>2026-11-30T08:15:02Z</StateUpdatedTimestamp>
      </member>
    </MetricAlarms>
    <CompositeAlarms/>
    <NextToken>page-2</NextToken>
  </DescribeAlarmsResult>
  <ResponseMetadata><RequestId>f3e1-example</RequestId></ResponseMetadata>
</DescribeAlarmsResponse>"#;

    #[test]
    fn a_describe_alarms_page_is_read_with_states_reasons_and_the_next_token() {
        let (alarms, next) = parse_alarms(PAGE).unwrap();
        assert_eq!(next.as_deref(), Some("page-2"));
        assert_eq!(alarms.len(), 2);
        assert_eq!(alarms[0].name, "zipster-dev-load-errors");
        assert_eq!(alarms[0].state, "ALARM");
        assert_eq!(alarms[0].since, "2026-12-01 10:00:00.123");
        assert!(alarms[0].reason.starts_with("Threshold Crossed: 1 datapoint"), "{}", alarms[0].reason);
        assert_eq!(alarms[1].since, "2026-11-30 08:15:02.000");
        assert!(alarms[1].reason.ends_with("no datapoints & treated as not breaching"));
        let (none, last) = parse_alarms(
            "<DescribeAlarmsResponse><DescribeAlarmsResult><MetricAlarms/></DescribeAlarmsResult></DescribeAlarmsResponse>",
        )
        .unwrap();
        assert!(none.is_empty() && last.is_none());
        assert!(parse_alarms("<html>bad gateway</html>").is_err());
    }

    #[test]
    fn alarm_comes_first_a_missing_alarm_is_told_and_the_next_step_is_named() {
        let (found, _) = parse_alarms(PAGE).unwrap();
        let names: Vec<String> =
            ["zipster-dev-dead-letter-messages", "zipster-dev-load-errors", "zipster-dev-transform-errors"]
                .map(str::to_owned)
                .to_vec();
        let alarms = with_missing(&names, found);
        let order: Vec<(&str, &str)> = alarms.iter().map(|a| (a.state.as_str(), a.name.as_str())).collect();
        assert_eq!(
            order,
            [
                ("ALARM", "zipster-dev-load-errors"),
                ("MISSING", "zipster-dev-transform-errors"),
                ("OK", "zipster-dev-dead-letter-messages"),
            ]
        );
        let text = render(&alarms, "dev");
        assert!(text.starts_with("alarms: 3 — 1 IN ALARM\n"), "{text}");
        assert!(
            text.contains("!! ALARM             2026-12-01 10:00:00.123  zipster-dev-load-errors: Threshold"),
            "{text}"
        );
        assert!(
            text.contains("cargo xtask logs --stage dev") && text.contains("cargo xtask redrive --stage dev"),
            "{text}"
        );
        let calm = render(&alarms[2..], "dev");
        assert!(calm.starts_with("alarms: 1 — none in ALARM") && !calm.contains("!!"), "{calm}");
    }

    #[test]
    fn times_read_as_status_prints_them() {
        assert_eq!(readable_time("2026-12-01T10:00:00.123456+00:00"), "2026-12-01 10:00:00.123");
        assert_eq!(readable_time("2026-12-01T10:00:00.5Z"), "2026-12-01 10:00:00.500");
        assert_eq!(readable_time("2026-12-01T10:00:00+02:00"), "2026-12-01T10:00:00+02:00");
    }
}

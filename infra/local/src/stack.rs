//! What the local Lambda service needs from a deployed stack, read from its template
//! and its resources' physical ids: each function's settings and environment, which
//! topic triggers it, where its failures go, and each bucket's notifications. Pure:
//! the template and the ids come in, no AWS call is made here.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Where the stack runs, for ARNs and pseudo parameters.
#[derive(Debug, Clone)]
pub struct Place {
    pub region: String,
    pub account: String,
}

/// A deployed resource: its type and physical id (what `Ref` returns).
#[derive(Debug, Clone)]
pub struct Deployed {
    pub resource_type: String,
    pub physical_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFunction {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub env: BTreeMap<String, String>,
    /// The topics whose `lambda` subscriptions invoke it.
    pub trigger_topics: Vec<String>,
    /// `MaximumRetryAttempts` of its EventInvokeConfig (Lambda's default: 2).
    pub max_retries: u32,
    /// The queue URL of its on-failure destination, if any.
    pub on_failure_queue: Option<String>,
    /// The alarm on that queue and the topic it notifies.
    pub on_failure_alarm: Option<Alarm>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub name: String,
    pub topic_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicNotification {
    pub topic_arn: String,
    pub events: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketNotifications {
    pub logical_id: String,
    pub bucket: String,
    pub topics: Vec<TopicNotification>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStack {
    pub functions: Vec<LocalFunction>,
    pub buckets: Vec<BucketNotifications>,
    /// Every topic: logical id → ARN.
    pub topics: BTreeMap<String, String>,
}

impl LocalStack {
    pub fn function(&self, logical_id: &str) -> Option<&LocalFunction> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    pub fn bucket(&self, logical_id: &str) -> Option<&str> {
        self.buckets.iter().find(|b| b.logical_id == logical_id).map(|b| b.bucket.as_str())
    }

    /// Topics that trigger no function: the ones people subscribe to (summaries, alerts).
    pub fn summary_topics(&self) -> Vec<(&str, &str)> {
        self.topics
            .iter()
            .filter(|(_, arn)| !self.functions.iter().any(|f| f.trigger_topics.contains(arn)))
            .map(|(id, arn)| (id.as_str(), arn.as_str()))
            .collect()
    }
}

/// Reads the stack from its template and its resources' physical ids.
pub fn read(template: &Value, deployed: &BTreeMap<String, Deployed>, place: &Place) -> Result<LocalStack> {
    let resources = template.get("Resources").and_then(Value::as_object).context("the template has no Resources")?;
    let resolver = Resolver { deployed, place };
    let of_type =
        |kind: &'static str| resources.iter().filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind));

    let topics: BTreeMap<String, String> =
        of_type("AWS::SNS::Topic").filter_map(|(id, _)| Some((id.clone(), resolver.physical(id).ok()?))).collect();

    let mut functions = Vec::new();
    for (id, resource) in of_type("AWS::Lambda::Function") {
        let props = &resource["Properties"];
        let env = match props.pointer("/Environment/Variables").and_then(Value::as_object) {
            Some(vars) => vars
                .iter()
                .map(|(k, v)| Ok((k.clone(), resolver.resolve(v).with_context(|| format!("{id}: variable {k}"))?)))
                .collect::<Result<BTreeMap<_, _>>>()?,
            None => BTreeMap::new(),
        };
        let env = with_logging_config(env, props);
        let name = resolver.physical(id)?;
        let invoke_config = of_type("AWS::Lambda::EventInvokeConfig")
            .map(|(_, r)| &r["Properties"])
            .find(|p| names_function(&p["FunctionName"], id));
        let max_retries = invoke_config
            .and_then(|p| p.get("MaximumRetryAttempts"))
            .and_then(Value::as_u64)
            .map_or(2, |n| u32::try_from(n).unwrap_or(2));
        let destination = invoke_config.and_then(|p| p.pointer("/DestinationConfig/OnFailure/Destination"));
        let on_failure_queue = match destination {
            Some(destination) => {
                Some(resolver.queue_url(destination).with_context(|| format!("{id}: on-failure destination"))?)
            }
            None => None,
        };
        let queue_id = destination.and_then(|d| d.pointer("/Fn::GetAtt/0")).and_then(Value::as_str);
        let on_failure_alarm = match queue_id {
            Some(queue_id) => queue_alarm(of_type("AWS::CloudWatch::Alarm"), queue_id, &resolver)?,
            None => None,
        };
        let trigger_topics = of_type("AWS::SNS::Subscription")
            .map(|(_, r)| &r["Properties"])
            .filter(|p| p["Protocol"] == "lambda" && names_function(&p["Endpoint"], id))
            .map(|p| resolver.resolve(&p["TopicArn"]))
            .collect::<Result<Vec<_>>>()?;
        functions.push(LocalFunction {
            logical_id: id.clone(),
            arn: format!("arn:aws:lambda:{}:{}:function:{name}", place.region, place.account),
            name,
            memory_mb: props.get("MemorySize").and_then(Value::as_u64).map_or(128, |n| u32::try_from(n).unwrap_or(128)),
            timeout: Duration::from_secs(props.get("Timeout").and_then(Value::as_u64).unwrap_or(3)),
            env,
            trigger_topics,
            max_retries,
            on_failure_queue,
            on_failure_alarm,
        });
    }

    let mut buckets = Vec::new();
    for (id, resource) in of_type("AWS::S3::Bucket") {
        let configurations = resource
            .pointer("/Properties/NotificationConfiguration/TopicConfigurations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let topics = configurations
            .iter()
            .map(|c| {
                Ok(TopicNotification {
                    topic_arn: resolver.resolve(&c["Topic"]).with_context(|| format!("{id}: notification topic"))?,
                    events: c.get("Event").and_then(Value::as_str).map(str::to_owned).into_iter().collect(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        buckets.push(BucketNotifications { logical_id: id.clone(), bucket: resolver.physical(id)?, topics });
    }
    Ok(LocalStack { functions, buckets, topics })
}

/// The variables Lambda sets from a function's `LoggingConfig`: with `LogFormat: JSON`
/// the runtime writes JSON lines, which is what the stage's log groups hold and the
/// stage commands (`put`, `status`) read.
fn with_logging_config(mut env: BTreeMap<String, String>, props: &Value) -> BTreeMap<String, String> {
    let config = &props["LoggingConfig"];
    if let Some(format) = config.get("LogFormat").and_then(Value::as_str) {
        env.entry("AWS_LAMBDA_LOG_FORMAT".to_owned()).or_insert_with(|| format.to_owned());
    }
    if let Some(level) = config.get("ApplicationLogLevel").and_then(Value::as_str) {
        env.entry("AWS_LAMBDA_LOG_LEVEL".to_owned()).or_insert_with(|| level.to_owned());
    }
    env
}

/// The alarm watching queue `queue_id` (what CloudWatch would raise when a failed
/// event lands there) and the first topic it notifies.
fn queue_alarm<'a>(
    alarms: impl Iterator<Item = (&'a String, &'a Value)>,
    queue_id: &str,
    resolver: &Resolver<'_>,
) -> Result<Option<Alarm>> {
    for (id, alarm) in alarms {
        let props = &alarm["Properties"];
        let watches = props["Dimensions"].as_array().is_some_and(|d| {
            d.iter().any(|d| d.pointer("/Value/Fn::GetAtt/0").and_then(Value::as_str) == Some(queue_id))
        });
        let action = props.pointer("/AlarmActions/0");
        if let (true, Some(action)) = (watches, action) {
            let name = match props.get("AlarmName") {
                Some(name) => resolver.resolve(name)?,
                None => id.clone(),
            };
            return Ok(Some(Alarm { name, topic_arn: resolver.resolve(action)? }));
        }
    }
    Ok(None)
}

/// `{"Ref": id}` or `{"Fn::GetAtt": [id, "Arn"]}` naming the function `id`.
fn names_function(value: &Value, id: &str) -> bool {
    value.get("Ref").and_then(Value::as_str) == Some(id)
        || value.pointer("/Fn::GetAtt/0").and_then(Value::as_str) == Some(id)
}

struct Resolver<'a> {
    deployed: &'a BTreeMap<String, Deployed>,
    place: &'a Place,
}

impl Resolver<'_> {
    fn physical(&self, id: &str) -> Result<String> {
        match self.deployed.get(id) {
            Some(d) => Ok(d.physical_id.clone()),
            None => bail!("resource {id} is in the template but not in the deployed stack"),
        }
    }

    fn pseudo(&self, name: &str) -> Option<String> {
        match name {
            "AWS::Region" => Some(self.place.region.clone()),
            "AWS::AccountId" => Some(self.place.account.clone()),
            "AWS::Partition" => Some("aws".to_owned()),
            "AWS::URLSuffix" => Some("amazonaws.com".to_owned()),
            _ => None,
        }
    }

    /// The value an intrinsic evaluates to, for the few intrinsics environments use.
    fn resolve(&self, value: &Value) -> Result<String> {
        if let Some(text) = value.as_str() {
            return Ok(text.to_owned());
        }
        if value.is_number() || value.is_boolean() {
            return Ok(value.to_string());
        }
        if let Some(name) = value.get("Ref").and_then(Value::as_str) {
            return self.pseudo(name).map_or_else(|| self.physical(name), Ok);
        }
        if let Some([id, attribute]) = value.get("Fn::GetAtt").and_then(Value::as_array).map(Vec::as_slice) {
            let (id, attribute) = (id.as_str().unwrap_or_default(), attribute.as_str().unwrap_or_default());
            return self.attribute(id, attribute);
        }
        if let Some(template) = value.get("Fn::Sub").and_then(Value::as_str) {
            return self.substitute(template);
        }
        if let Some([separator, parts]) = value.get("Fn::Join").and_then(Value::as_array).map(Vec::as_slice) {
            let parts = parts.as_array().map(|p| p.iter().map(|v| self.resolve(v)).collect::<Result<Vec<_>>>());
            return Ok(parts.transpose()?.unwrap_or_default().join(separator.as_str().unwrap_or_default()));
        }
        bail!("cannot evaluate {value} locally")
    }

    fn attribute(&self, id: &str, attribute: &str) -> Result<String> {
        let deployed = self.deployed.get(id).with_context(|| format!("resource {id} is not deployed"))?;
        let (region, account, physical) = (&self.place.region, &self.place.account, &deployed.physical_id);
        Ok(match (deployed.resource_type.as_str(), attribute) {
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{region}:{account}:{}", queue_name(physical)),
            ("AWS::SQS::Queue", "QueueName") => queue_name(physical).to_owned(),
            ("AWS::SQS::Queue", "QueueUrl") => physical.clone(),
            ("AWS::Lambda::Function", "Arn") => format!("arn:aws:lambda:{region}:{account}:function:{physical}"),
            ("AWS::S3::Bucket", "Arn") => format!("arn:aws:s3:::{physical}"),
            ("AWS::SNS::Topic", "TopicArn") => physical.clone(),
            // The database host's address is overridden by DATABASE_URL locally.
            ("AWS::EC2::Instance", "PrivateDnsName" | "PrivateIp") => "127.0.0.1".to_owned(),
            (kind, attribute) => bail!("cannot evaluate {kind} {id}.{attribute} locally"),
        })
    }

    fn substitute(&self, template: &str) -> Result<String> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').with_context(|| format!("unclosed ${{ in {template:?}"))? + start;
            let name = &rest[start + 2..end];
            let value = match name.split_once('.') {
                Some((id, attribute)) => self.attribute(id, attribute)?,
                None => self.pseudo(name).map_or_else(|| self.physical(name), Ok)?,
            };
            out.push_str(&value);
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// A destination is a queue ARN (`GetAtt Arn`) or a literal ARN; the service needs its URL.
    fn queue_url(&self, destination: &Value) -> Result<String> {
        if let Some(id) = destination.pointer("/Fn::GetAtt/0").and_then(Value::as_str) {
            return self.physical(id);
        }
        let arn = self.resolve(destination)?;
        let name = arn.rsplit(':').next().unwrap_or_default();
        self.deployed
            .values()
            .find(|d| d.resource_type == "AWS::SQS::Queue" && queue_name(&d.physical_id) == name)
            .map(|d| d.physical_id.clone())
            .with_context(|| format!("no queue of the stack has the ARN {arn}"))
    }
}

/// The last path segment of a queue URL.
pub fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn local_template() -> Value {
        let path = zipster_tools::project_root().join("infra/templates/local.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    /// Physical ids the way CloudFormation reports them: names for buckets and
    /// functions, ARNs for topics and secrets, URLs for queues.
    fn deployed(template: &Value, place: &Place) -> BTreeMap<String, Deployed> {
        let resources = template["Resources"].as_object().unwrap();
        resources
            .iter()
            .map(|(id, r)| {
                let kind = r["Type"].as_str().unwrap().to_owned();
                let physical_id = match kind.as_str() {
                    "AWS::SNS::Topic" => format!("arn:aws:sns:{}:{}:{id}", place.region, place.account),
                    "AWS::SQS::Queue" => format!("http://localhost:5000/{}/{id}", place.account),
                    _ => format!("phys-{id}"),
                };
                (id.clone(), Deployed { resource_type: kind, physical_id })
            })
            .collect()
    }

    #[test]
    fn reads_the_local_stage_template() {
        let template = local_template();
        let place = Place { region: "us-east-1".to_owned(), account: "123456789012".to_owned() };
        let stack = read(&template, &deployed(&template, &place), &place).unwrap();

        let transform = stack.function("TransformFunction").unwrap();
        assert_eq!(transform.name, "phys-TransformFunction");
        assert_eq!(transform.trigger_topics, ["arn:aws:sns:us-east-1:123456789012:TransformTriggerTopic"]);
        assert_eq!(transform.env["STAGING_BUCKET"], "phys-StagingBucket");
        assert_eq!(transform.env["TRANSFORM_TOPIC_ARN"], "arn:aws:sns:us-east-1:123456789012:TransformTopic");
        assert_eq!(transform.max_retries, 2);
        assert_eq!(transform.env["AWS_LAMBDA_LOG_FORMAT"], "JSON", "as Lambda sets it from LoggingConfig");
        assert_eq!(transform.on_failure_queue.as_deref(), Some("http://localhost:5000/123456789012/DeadLetterQueue"));
        assert_eq!(transform.timeout, Duration::from_secs(120));
        let alarm = transform.on_failure_alarm.as_ref().unwrap();
        assert_eq!(alarm.name, "zipster-local-dead-letter-messages");
        assert_eq!(alarm.topic_arn, "arn:aws:sns:us-east-1:123456789012:AlertsTopic");

        let load = stack.function("LoadFunction").unwrap();
        assert_eq!(load.trigger_topics, ["arn:aws:sns:us-east-1:123456789012:LoadTriggerTopic"]);
        assert_eq!(load.env["LOAD_TOPIC_ARN"], "arn:aws:sns:us-east-1:123456789012:LoadTopic");
        assert!(stack.function("MigrateFunction").unwrap().trigger_topics.is_empty());

        let input = stack.buckets.iter().find(|b| b.logical_id == "InputBucket").unwrap();
        assert_eq!(input.topics[0].topic_arn, "arn:aws:sns:us-east-1:123456789012:TransformTriggerTopic");
        assert_eq!(input.topics[0].events, ["s3:ObjectCreated:*"]);

        let summaries: Vec<&str> = stack.summary_topics().into_iter().map(|(id, _)| id).collect();
        assert_eq!(summaries, ["AlertsTopic", "LoadTopic", "TransformTopic"]);
    }

    #[test]
    fn substitutes_pseudo_parameters_and_attributes() {
        let place = Place { region: "eu-west-1".to_owned(), account: "111122223333".to_owned() };
        let deployed = BTreeMap::from([(
            "Queue".to_owned(),
            Deployed {
                resource_type: "AWS::SQS::Queue".to_owned(),
                physical_id: "http://h/111122223333/q1".to_owned(),
            },
        )]);
        let resolver = Resolver { deployed: &deployed, place: &place };
        let value = serde_json::json!({"Fn::Sub": "x-${AWS::Region}-${Queue.Arn}-${Queue}"});
        assert_eq!(
            resolver.resolve(&value).unwrap(),
            "x-eu-west-1-arn:aws:sqs:eu-west-1:111122223333:q1-http://h/111122223333/q1"
        );
        assert!(resolver.resolve(&serde_json::json!({"Ref": "Missing"})).is_err());
    }
}

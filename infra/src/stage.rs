//! Stage settings, parsed from `infra/stages.toml` (text in, values out: no I/O).

use std::collections::BTreeMap;

use serde::Deserialize;
use zipster_core::feeds::Catalog;

use crate::constructs::network::S3_PREFIX_LISTS;
use crate::functions::FUNCTIONS;

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("stages.toml: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("stage {stage}: {problem}")]
    Invalid { stage: String, problem: String },
    #[error("no stage named {0:?} in stages.toml")]
    Unknown(String),
}

/// Everything that differs between stages.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// The table's name in stages.toml; prefixes every resource name (`zipster-<name>-…`).
    #[serde(skip)]
    pub name: String,
    pub region: String,
    /// A Graviton type (the host runs the arm64 AMI).
    pub instance_type: String,
    /// The database's own EBS volume (gp3), which outlives the host.
    pub database_volume_gb: u32,
    /// The host's AMI, pinned: `ami-…`, or `resolve:ssm:<parameter>:<version>` (see [`HostImage`]).
    pub host_image: String,
    /// When `AWS-RunPatchBaseline` installs OS and MariaDB updates in place: `cron(...)` (UTC).
    pub patch_schedule: String,
    /// How long the daily snapshots of the database volume are kept.
    pub snapshot_retention_days: u32,
    pub log_retention_days: u32,
    /// A /16; the two private subnets take its first two /24s.
    pub vpc_cidr: String,
    /// The feed (`feeds/<name>/`) of input keys under no feed's prefix; without one,
    /// such a key is refused with an alert (`cargo xtask feed check` checks the name).
    #[serde(default)]
    pub default_feed: Option<String>,
    /// The stage-wide subscribers: every summary and alert, of every feed (unfiltered).
    pub notifications: Notifications,
    /// Settings of one feed (`feeds/<name>/`) in this stage: its owners, who get only
    /// the messages about its files (`[<stage>.feeds.<name>]` in stages.toml).
    #[serde(default)]
    pub feeds: BTreeMap<String, FeedSettings>,
    pub alarms: Alarms,
    /// The repository whose workflows may deploy the stage (its bootstrap's deploy role).
    pub github: GitHub,
    /// One table per function of [`FUNCTIONS`], named after it.
    pub transform: FunctionSettings,
    pub load: FunctionSettings,
    pub migrate: FunctionSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    #[serde(default)]
    pub emails: Vec<String>,
    /// E.164 phone numbers (`+` and digits).
    #[serde(default)]
    pub sms: Vec<String>,
}

impl Notifications {
    /// Every subscriber as (SNS protocol, endpoint): emails, then phone numbers.
    pub fn endpoints(&self) -> impl Iterator<Item = (&'static str, &str)> {
        let emails = self.emails.iter().map(|e| ("email", e.as_str()));
        emails.chain(self.sms.iter().map(|p| ("sms", p.as_str())))
    }

    /// Whether `endpoint` of `protocol` is one of these subscribers (an address's
    /// case does not make it another mailbox here).
    fn has(&self, protocol: &str, endpoint: &str) -> bool {
        self.endpoints().any(|(p, e)| p == protocol && e.eq_ignore_ascii_case(endpoint))
    }

    /// The first email or phone number that is not one, as the problem to report.
    fn check(&self) -> Result<(), String> {
        if let Some(email) = self.emails.iter().find(|e| !looks_like_email(e)) {
            return Err(format!("{email:?} is not an email address"));
        }
        if let Some(phone) = self.sms.iter().find(|p| !is_e164(p)) {
            return Err(format!("{phone:?} is not an E.164 phone number (+ then 8 to 15 digits)"));
        }
        Ok(())
    }
}

/// One feed's settings in a stage.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSettings {
    /// The feed's owners: subscribed to the transform, load and alerts topics with a
    /// filter on the messages' `feed` attribute, so they get this feed's summaries and
    /// failures and nothing else.
    pub notifications: Notifications,
}

/// The GitHub repository whose `environment: <stage>` jobs may assume the stage's
/// deploy role, and whether the stage's bootstrap creates the account's GitHub OIDC
/// provider (there is one per account: the first stage of an account creates it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitHub {
    pub owner: String,
    pub repo: String,
    pub oidc_provider: OidcProvider,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OidcProvider {
    /// This stage's bootstrap stack creates it.
    Create,
    /// Another stack (or a person) created it in this account; it is used as it is.
    Existing,
}

impl GitHub {
    /// The `sub` claim of the stage's deploy jobs: `repo:<owner>/<repo>:environment:<stage>`.
    pub fn subject(&self, stage: &str) -> String {
        format!("repo:{}/{}:environment:{stage}", self.owner, self.repo)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alarms {
    pub period_seconds: u32,
    pub function_errors_threshold: u32,
    pub dead_letter_messages_threshold: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionSettings {
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    /// Lambda's `/tmp`, where the transform keeps the input and its outputs and the
    /// load the staged file (which bounds the largest file it takes).
    #[serde(default = "default_ephemeral_storage_mb")]
    pub ephemeral_storage_mb: u32,
    /// Lambda's `ReservedConcurrentExecutions`: the most instances that run at once
    /// (a burst beyond it waits in Lambda's queue of asynchronous events and is
    /// retried, for up to the events' maximum age). It bounds the load's connections
    /// to the one database host: `load.reserved_concurrency` × the load's pool.
    pub reserved_concurrency: u32,
}

const fn default_ephemeral_storage_mb() -> u32 {
    512
}

/// The AWS public parameter naming the newest Amazon Linux 2023 arm64 AMI of a region.
pub const AL2023_ARM64_PARAMETER: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64";

/// The host's AMI, as pinned in stages.toml: never "whatever is newest today".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostImage {
    /// A concrete AMI id of the stage's region.
    Ami(String),
    /// One version of an SSM parameter (e.g. AWS's public AL2023 parameter), resolved
    /// by CloudFormation with a dynamic reference: the same version is the same image.
    SsmParameter { name: String, version: u32 },
}

impl HostImage {
    /// Parses a stages.toml `host_image`; refuses anything that can move by itself.
    pub fn parse(value: &str) -> Result<Self, String> {
        if let Some(id) = value.strip_prefix("ami-") {
            let hex = id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            return if hex && (id.len() == 8 || id.len() == 17) {
                Ok(Self::Ami(value.to_owned()))
            } else {
                Err(format!("host_image {value:?} is not an AMI id (ami- and 8 or 17 hex digits)"))
            };
        }
        let pin = "pin one version: resolve:ssm:<parameter>:<version>, or an ami-… id";
        let Some(reference) = value.strip_prefix("resolve:ssm:") else {
            return Err(format!("host_image {value:?} is neither an ami-… id nor resolve:ssm:<parameter>:<version>"));
        };
        let (name, version) = match reference.rsplit_once(':') {
            Some((name, version)) if name.starts_with('/') => (name, version),
            _ => (reference, ""),
        };
        let Ok(version) = version.parse::<u32>() else {
            let moving = if value.contains("latest") { " names the newest image on every deploy" } else { "" };
            return Err(format!(
                "host_image {value:?}{moving} has no parameter version, so a deploy could replace the host \
                 whenever AWS publishes an image; {pin}"
            ));
        };
        if !name.starts_with('/') || name.contains(char::is_whitespace) || version == 0 {
            return Err(format!("host_image {value:?}: the parameter must be a /path and the version 1 or more"));
        }
        Ok(Self::SsmParameter { name: name.to_owned(), version })
    }

    /// The instance's `ImageId`: the AMI id, or `{{resolve:ssm:<parameter>:<version>}}`.
    pub fn image_id(&self) -> String {
        match self {
            Self::Ami(id) => id.clone(),
            Self::SsmParameter { name, version } => format!("{{{{resolve:ssm:{name}:{version}}}}}"),
        }
    }

    /// The command that shows the newest version of the image's parameter in `region`
    /// (its version and AMI id, tab-separated) to compare with the pinned one. A
    /// pinned `ami-…` is compared with AWS's AL2023 arm64 parameter.
    pub fn newer_image_command(&self, region: &str) -> String {
        let name = match self {
            Self::Ami(_) => AL2023_ARM64_PARAMETER,
            Self::SsmParameter { name, .. } => name,
        };
        format!(
            "aws ssm get-parameter --region {region} --name {name} --query 'Parameter.[Version,Value]' --output text"
        )
    }
}

/// What the stage's functions may reserve together: Lambda's default account quota
/// (1000 concurrent executions per region) less the 100 it always keeps unreserved.
/// An account with a lower quota refuses the deploy with Lambda's own message.
const MAX_RESERVED_CONCURRENCY: u32 = 900;

/// The values CloudWatch Logs accepts for a log group's retention.
const RETENTION_DAYS: &[u32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

impl StageConfig {
    /// Every stage in `stages.toml`, in name order, each validated.
    pub fn from_toml(text: &str) -> Result<Vec<Self>, StageError> {
        let tables: BTreeMap<String, StageConfig> = toml::from_str(text)?;
        tables
            .into_iter()
            .map(|(name, mut stage)| {
                stage.name = name;
                stage.validate()?;
                Ok(stage)
            })
            .collect()
    }

    /// The stage called `name`.
    pub fn named(text: &str, name: &str) -> Result<Self, StageError> {
        Self::from_toml(text)?.into_iter().find(|s| s.name == name).ok_or_else(|| StageError::Unknown(name.to_owned()))
    }

    /// The prefix of every physical name in the stage: `zipster-<stage>`.
    pub fn prefix(&self) -> String {
        format!("zipster-{}", self.name)
    }

    fn validate(&self) -> Result<(), StageError> {
        let invalid = |problem: String| Err(StageError::Invalid { stage: self.name.clone(), problem });
        // Bucket names are `zipster-<stage>-staging-<account>-<region>` and must fit in 63 characters.
        if self.name.is_empty()
            || self.name.len() > 8
            || !self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            || !self.name.starts_with(|c: char| c.is_ascii_lowercase())
        {
            return invalid("the name must be 1 to 8 lowercase letters or digits, starting with a letter".into());
        }
        let region_ok = self.region.split('-').count() >= 3
            && self.region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return invalid(format!("region {:?} does not look like an AWS region", self.region));
        }
        if !S3_PREFIX_LISTS.iter().any(|(region, _)| *region == self.region) {
            return invalid(format!(
                "region {} has no S3 prefix list in S3_PREFIX_LISTS (infra/src/constructs/network.rs); add it from \
                 `aws ec2 describe-managed-prefix-lists --region {0} --filters Name=prefix-list-name,Values=com.amazonaws.{0}.s3`",
                self.region
            ));
        }
        if !self.instance_type.contains("g.") {
            return invalid(format!("instance_type {:?} is not a Graviton (arm64) type", self.instance_type));
        }
        if !(8..=16384).contains(&self.database_volume_gb) {
            return invalid(format!("database_volume_gb {} is outside 8..=16384", self.database_volume_gb));
        }
        if let Err(problem) = HostImage::parse(&self.host_image) {
            return invalid(problem);
        }
        if let Err(problem) = check_patch_schedule(&self.patch_schedule) {
            return invalid(problem);
        }
        if !(1..=1000).contains(&self.snapshot_retention_days) {
            return invalid(format!("snapshot_retention_days {} is outside 1..=1000", self.snapshot_retention_days));
        }
        if !RETENTION_DAYS.contains(&self.log_retention_days) {
            return invalid(format!("log_retention_days {} is not one of {RETENTION_DAYS:?}", self.log_retention_days));
        }
        if !is_slash16(&self.vpc_cidr) {
            return invalid(format!("vpc_cidr {:?} is not an a.b.0.0/16 block", self.vpc_cidr));
        }
        if let Err(problem) = self.notifications.check() {
            return invalid(problem);
        }
        for (feed, settings) in &self.feeds {
            if let Err(problem) = self.check_feed(feed, settings) {
                return invalid(format!("feeds.{feed}: {problem}"));
            }
        }
        if let Err(problem) = check_github(&self.github) {
            return invalid(problem);
        }
        let period = self.alarms.period_seconds;
        if !(period == 10 || period == 30 || (period > 0 && period.is_multiple_of(60))) {
            return invalid(format!("alarms.period_seconds {period} must be 10, 30 or a multiple of 60"));
        }
        for def in FUNCTIONS {
            let (function, settings) = (def.name, def.settings(self));
            if !(128..=10240).contains(&settings.memory_mb) {
                return invalid(format!("{function}.memory_mb {} is outside 128..=10240", settings.memory_mb));
            }
            if !(512..=10240).contains(&settings.ephemeral_storage_mb) {
                return invalid(format!(
                    "{function}.ephemeral_storage_mb {} is outside 512..=10240",
                    settings.ephemeral_storage_mb
                ));
            }
            if !(1..=900).contains(&settings.timeout_seconds) {
                return invalid(format!("{function}.timeout_seconds {} is outside 1..=900", settings.timeout_seconds));
            }
            // 0 would be valid for Lambda, and throttle every invocation.
            if !(1..=MAX_RESERVED_CONCURRENCY).contains(&settings.reserved_concurrency) {
                return invalid(format!(
                    "{function}.reserved_concurrency {} is outside 1..={MAX_RESERVED_CONCURRENCY}",
                    settings.reserved_concurrency
                ));
            }
        }
        let reserved: u32 = FUNCTIONS.iter().map(|def| def.settings(self).reserved_concurrency).sum();
        if reserved > MAX_RESERVED_CONCURRENCY {
            return invalid(format!(
                "the functions reserve {reserved} concurrent executions together; Lambda's default account quota \
                 leaves {MAX_RESERVED_CONCURRENCY}"
            ));
        }
        Ok(())
    }

    /// A feed's settings: the feed is one of this build's (the catalog the functions
    /// are compiled with, so never a feed no message could name), its people are
    /// addresses and numbers, and none is a stage-wide subscriber too: that one gets
    /// every feed's messages already, and SNS keeps one subscription per endpoint and
    /// topic, so a second, filtered one would clash with its unfiltered one.
    fn check_feed(&self, feed: &str, settings: &FeedSettings) -> Result<(), String> {
        let catalog = Catalog::builtin().map_err(|error| format!("the feeds of this build do not load: {error}"))?;
        if catalog.get(feed).is_none() {
            let names: Vec<&str> = catalog.feeds().iter().map(|f| f.name.as_str()).collect();
            return Err(format!("no feed of that name in feeds/ (the feeds are {})", names.join(", ")));
        }
        settings.notifications.check()?;
        if let Some((_, endpoint)) = settings.notifications.endpoints().find(|(p, e)| self.notifications.has(p, e)) {
            return Err(format!(
                "{endpoint:?} is a stage-wide subscriber, who gets every feed's messages already; list it in one place"
            ));
        }
        Ok(())
    }

    /// The host's pinned AMI (validated when the stages were parsed).
    pub fn host_image(&self) -> HostImage {
        HostImage::parse(&self.host_image).unwrap_or_else(|_| HostImage::Ami(self.host_image.clone()))
    }

    /// How to see whether a newer host image than the pinned one exists, for the
    /// stage's region: `aws ssm get-parameter … --query 'Parameter.[Version,Value]'`.
    /// The deploy engine prints it; moving to the newer image is one reviewed edit of
    /// `host_image` in stages.toml (and replaces the host: the data volume stays).
    pub fn newer_host_image_command(&self) -> String {
        self.host_image().newer_image_command(&self.region)
    }

    /// The `index`-th /24 of the stage's /16.
    pub fn subnet_cidr(&self, index: u8) -> String {
        let mut octets = self.vpc_cidr.split(['.', '/']);
        let (a, b) = (octets.next().unwrap_or("10"), octets.next().unwrap_or("0"));
        format!("{a}.{b}.{index}.0/24")
    }
}

/// A State Manager `cron(...)` expression: six fields (minutes hours day-of-month
/// month day-of-week year), UTC. `rate(...)` is refused: a rate association also
/// runs as soon as it is created or retargeted, that is while a new host is still
/// booting, and `RebootIfNeeded` could then reboot it in the middle of its boot script.
fn check_patch_schedule(schedule: &str) -> Result<(), String> {
    let fields = schedule.strip_prefix("cron(").and_then(|rest| rest.strip_suffix(')')).map(str::split_whitespace);
    let Some(fields) = fields else {
        return Err(format!(
            "patch_schedule {schedule:?} must be cron(minutes hours day-of-month month day-of-week year); \
             rate(...) would also patch (and maybe reboot) a host while it boots"
        ));
    };
    let fields: Vec<&str> = fields.collect();
    let allowed = |f: &&str| f.bytes().all(|b| b.is_ascii_alphanumeric() || b"*?,-/#".contains(&b));
    if fields.len() != 6 || !fields.iter().all(allowed) {
        return Err(format!("patch_schedule {schedule:?} must have six cron fields, e.g. cron(0 4 ? * SUN *)"));
    }
    Ok(())
}

/// GitHub's rules for names: an owner is 1 to 39 letters, digits or single hyphens
/// (not first or last), a repository 1 to 100 letters, digits, `.`, `-` or `_`. Either
/// goes into the deploy role's trust condition, where a `*` or `?` would be a pattern.
fn check_github(github: &GitHub) -> Result<(), String> {
    let owner = &github.owner;
    let owner_ok = (1..=39).contains(&owner.len())
        && owner.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--");
    if !owner_ok {
        return Err(format!("github.owner {owner:?} is not a GitHub user or organization name"));
    }
    let repo = &github.repo;
    let repo_ok = (1..=100).contains(&repo.len())
        && repo.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && repo != "."
        && repo != "..";
    if !repo_ok {
        return Err(format!("github.repo {repo:?} is not a GitHub repository name"));
    }
    Ok(())
}

fn is_slash16(cidr: &str) -> bool {
    let Some((address, "16")) = cidr.split_once('/') else { return false };
    let octets: Vec<&str> = address.split('.').collect();
    octets.len() == 4 && octets.iter().all(|o| o.parse::<u8>().is_ok()) && octets[2] == "0" && octets[3] == "0"
}

fn looks_like_email(s: &str) -> bool {
    s.split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !s.contains(char::is_whitespace))
}

fn is_e164(s: &str) -> bool {
    s.strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const STAGES: &str = include_str!("../stages.toml");

    #[test]
    fn the_committed_stages_parse_and_are_valid() {
        let stages = StageConfig::from_toml(STAGES).unwrap();
        let names: Vec<&str> = stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["dev", "local", "prod"]);
        let prod = StageConfig::named(STAGES, "prod").unwrap();
        assert_eq!(prod.prefix(), "zipster-prod");
        assert_eq!(prod.subnet_cidr(1), "10.42.1.0/24");
    }

    #[test]
    fn host_images_are_pinned_and_resolve_to_one_version() {
        let pinned = HostImage::parse(&format!("resolve:ssm:{AL2023_ARM64_PARAMETER}:191")).unwrap();
        assert_eq!(pinned, HostImage::SsmParameter { name: AL2023_ARM64_PARAMETER.to_owned(), version: 191 });
        assert_eq!(pinned.image_id(), format!("{{{{resolve:ssm:{AL2023_ARM64_PARAMETER}:191}}}}"));
        assert_eq!(HostImage::parse("ami-0ef3038e9b73a0746").unwrap().image_id(), "ami-0ef3038e9b73a0746");
        for stage in StageConfig::from_toml(STAGES).unwrap() {
            assert!(matches!(stage.host_image(), HostImage::SsmParameter { .. }), "{}", stage.name);
            assert_eq!(
                stage.newer_host_image_command(),
                format!(
                    "aws ssm get-parameter --region {} --name {AL2023_ARM64_PARAMETER} \
                     --query 'Parameter.[Version,Value]' --output text",
                    stage.region
                )
            );
        }
    }

    #[test]
    fn an_unknown_stage_is_an_error() {
        assert!(matches!(StageConfig::named(STAGES, "qa"), Err(StageError::Unknown(name)) if name == "qa"));
    }

    fn with(key: &str, value: &str) -> String {
        STAGES
            .lines()
            .map(
                |line| {
                    if line.starts_with(&format!("{key} = ")) { format!("{key} = {value}") } else { line.to_owned() }
                },
            )
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn invalid_settings_are_rejected_with_the_stage_and_the_problem() {
        let cases: [(&str, &str, &str); 22] = [
            ("github", "{ owner = \"acme/x\", repo = \"r\", oidc_provider = \"create\" }", "github.owner"),
            ("github", "{ owner = \"acme\", repo = \"r*\", oidc_provider = \"create\" }", "github.repo"),
            ("github", "{ owner = \"acme\", repo = \"r\", oidc_provider = \"maybe\" }", "unknown variant"),
            ("log_retention_days", "10", "log_retention_days 10"),
            ("instance_type", "\"t3.micro\"", "Graviton"),
            ("vpc_cidr", "\"10.1.2.0/24\"", "vpc_cidr"),
            ("region", "\"Ireland\"", "region"),
            ("notifications", "{ emails = [\"nobody\"], sms = [] }", "email"),
            ("notifications", "{ emails = [], sms = [\"0123\"] }", "E.164"),
            ("transform", "{ memory_mb = 64, timeout_seconds = 10, reserved_concurrency = 1 }", "transform.memory_mb"),
            ("load", "{ memory_mb = 256, timeout_seconds = 901, reserved_concurrency = 1 }", "load.timeout_seconds"),
            (
                "load",
                "{ memory_mb = 256, timeout_seconds = 60, reserved_concurrency = 0 }",
                "load.reserved_concurrency 0",
            ),
            ("load", "{ memory_mb = 256, timeout_seconds = 60 }", "missing field `reserved_concurrency`"),
            ("transform", "{ memory_mb = 512, timeout_seconds = 60, reserved_concurrency = 900 }", "reserve 9"),
            ("region", "\"ap-south-2\"", "S3_PREFIX_LISTS"),
            ("host_image", &format!("\"resolve:ssm:{AL2023_ARM64_PARAMETER}\""), "newest image on every deploy"),
            ("host_image", &format!("\"{AL2023_ARM64_PARAMETER}\""), "neither an ami-"),
            ("host_image", "\"resolve:ssm:/aws/service/ami-amazon-linux-latest/x:latest\"", "no parameter version"),
            ("host_image", "\"ami-12345\"", "not an AMI id"),
            ("patch_schedule", "\"rate(7 days)\"", "while it boots"),
            ("patch_schedule", "\"cron(0 4 * *)\"", "six cron fields"),
            ("snapshot_retention_days", "0", "snapshot_retention_days 0"),
        ];
        for (key, value, expected) in cases {
            let error = StageConfig::from_toml(&with(key, value)).unwrap_err().to_string();
            assert!(error.contains(expected), "{key} = {value}: {error}");
        }
    }

    /// The committed stages, and `text` after them (TOML lets a later table add to a stage).
    fn plus(text: &str) -> Result<Vec<StageConfig>, StageError> {
        StageConfig::from_toml(&format!("{STAGES}\n{text}\n"))
    }

    #[test]
    fn a_feed_may_have_its_own_subscribers_in_a_table_or_inline() {
        let text = STAGES.replace(
            "[prod]\n",
            "[prod]\nfeeds = { zipcodes = { notifications = { emails = [\"zips@example.com\"] } } }\n",
        );
        let text = format!(
            "{text}\n[dev.feeds.cities]\nnotifications = {{ emails = [\"cities@example.com\"], sms = [\"+15555550101\"] }}\n"
        );
        let stages = StageConfig::from_toml(&text).unwrap();
        let feeds = |name: &str| stages.iter().find(|s| s.name == name).unwrap().feeds.clone();
        let cities = Notifications { emails: vec!["cities@example.com".into()], sms: vec!["+15555550101".into()] };
        assert_eq!(feeds("dev"), BTreeMap::from([("cities".to_owned(), FeedSettings { notifications: cities })]));
        let zips = Notifications { emails: vec!["zips@example.com".into()], sms: Vec::new() };
        assert_eq!(feeds("prod"), BTreeMap::from([("zipcodes".to_owned(), FeedSettings { notifications: zips })]));
        assert!(feeds("local").is_empty());
    }

    #[test]
    fn a_feeds_subscribers_are_checked_with_the_stage_the_feed_and_the_value_named() {
        let feeds: Vec<&str> = Catalog::builtin().unwrap().feeds().iter().map(|f| f.name.as_str()).collect();
        let unknown =
            format!("stage dev: feeds.citiez: no feed of that name in feeds/ (the feeds are {})", feeds.join(", "));
        let cases = [
            ("citiez", "{ emails = [\"a@example.com\"] }", unknown.as_str()),
            ("cities", "{ emails = [\"nobody\"] }", "stage dev: feeds.cities: \"nobody\" is not an email address"),
            (
                "cities",
                "{ sms = [\"5555550101\"] }",
                "stage dev: feeds.cities: \"5555550101\" is not an E.164 phone number (+ then 8 to 15 digits)",
            ),
            (
                "cities",
                "{ emails = [\"Zipster-Dev@example.com\"] }",
                "stage dev: feeds.cities: \"Zipster-Dev@example.com\" is a stage-wide subscriber, who gets every \
                 feed's messages already; list it in one place",
            ),
        ];
        for (feed, notifications, expected) in cases {
            let error = plus(&format!("[dev.feeds.{feed}]\nnotifications = {notifications}")).unwrap_err().to_string();
            assert_eq!(error, expected);
        }
        let error = plus("[dev.feeds.cities]\nemails = [\"a@example.com\"]").unwrap_err().to_string();
        assert!(error.contains("unknown field `emails`"), "{error}");
    }

    #[test]
    fn unknown_keys_and_bad_names_are_rejected() {
        assert!(StageConfig::from_toml(&STAGES.replace("[dev]", "[dev]\nregoin = \"x\"")).is_err());
        let error = StageConfig::from_toml(&STAGES.replace("[dev]", "[Dev_Stage]")).unwrap_err().to_string();
        assert!(error.contains("lowercase"), "{error}");
    }
}

//! The deploy gate: a deploy never destroys state unless told by name.
//!
//! A resource is *stateful* when its template entry carries `Metadata.zipster.stateful`,
//! a one-sentence reason ("holds the database's data"). A *stateful change* is a change
//! set row that replaces such a resource (`Replacement` `True` or `Conditional`, the
//! marker read from the template being deployed) or removes one (`Action` `Remove`, the
//! marker read from the deployed template, since the new one no longer has it). Such a
//! change set runs only when every stateful change is named with `--allow-replace
//! LOGICAL_ID`, or confirmed by name at a terminal; under `--yes` it is refused. This
//! is CDK's `RemovalPolicy` idea, enforced when the change is about to happen. Pure:
//! templates and change rows in, marks and refusals out.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::changeset::ResourceChange;

/// `logical id → reason` for every resource of `template` (CloudFormation JSON) that
/// carries `Metadata.zipster.stateful`.
pub fn stateful_resources(template: &Value) -> BTreeMap<String, String> {
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else { return BTreeMap::new() };
    resources
        .iter()
        .filter_map(|(id, resource)| {
            let [section, key] = zipster_infra::model::STATEFUL_METADATA;
            let reason = resource.get("Metadata")?.get(section)?.get(key)?;
            let reason = reason.as_str().map_or_else(|| reason.to_string(), str::to_owned);
            Some((id.clone(), reason))
        })
        .collect()
}

/// Marks (`ResourceChange::stateful`) every change that replaces a resource marked
/// stateful in `new`, or removes one marked stateful in `deployed`; returns how many.
pub fn mark(changes: &mut [ResourceChange], new: &Value, deployed: Option<&Value>) -> usize {
    let new = stateful_resources(new);
    let deployed = deployed.map(stateful_resources).unwrap_or_default();
    let mut marked = 0;
    for change in changes.iter_mut() {
        change.stateful = if change.action == "Remove" {
            deployed.get(&change.logical_id).cloned()
        } else if change.replaces() {
            new.get(&change.logical_id).cloned()
        } else {
            None
        };
        marked += usize::from(change.stateful.is_some());
    }
    marked
}

/// What the gate decided about a marked change set.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Stateful changes named by `--allow-replace`.
    pub allowed: Vec<String>,
    /// Stateful changes not named: the change set may not run unless they are confirmed.
    pub unallowed: Vec<String>,
    /// `--allow-replace` names that match no stateful change here (a stale flag, a typo).
    pub unused: Vec<String>,
}

/// Which stateful changes `allow_replace` lets through: exactly the named ones.
pub fn judge(changes: &[ResourceChange], allow_replace: &[String]) -> Verdict {
    let mut verdict = Verdict::default();
    for change in changes.iter().filter(|c| c.stateful.is_some()) {
        let list =
            if allow_replace.contains(&change.logical_id) { &mut verdict.allowed } else { &mut verdict.unallowed };
        if !list.contains(&change.logical_id) {
            list.push(change.logical_id.clone());
        }
    }
    verdict.unused =
        allow_replace.iter().filter(|id| !verdict.allowed.contains(id)).fold(Vec::new(), |mut unique, id| {
            if !unique.contains(id) {
                unique.push(id.clone());
            }
            unique
        });
    verdict
}

/// `replaces DatabaseHost (holds the data) and removes InputBucket (…)`, for `ids`.
pub fn describe(changes: &[ResourceChange], ids: &[String]) -> String {
    let parts: Vec<String> = ids
        .iter()
        .filter_map(|id| changes.iter().find(|c| &c.logical_id == id && c.stateful.is_some()))
        .map(|c| {
            let verb = if c.action == "Remove" { "removes" } else { "replaces" };
            format!("{verb} {} ({})", c.logical_id, c.stateful.as_deref().unwrap_or_default())
        })
        .collect();
    parts.join(", ")
}

/// The question asked at a terminal, naming each resource.
pub fn question(changes: &[ResourceChange], unallowed: &[String], stack: &str) -> String {
    format!("this change set {}: its data is lost; deploy {stack} anyway", describe(changes, unallowed))
}

/// The one line a refused deploy ends with: what, that nothing ran, how to allow it.
pub fn refusal(changes: &[ResourceChange], unallowed: &[String], stack: &str) -> String {
    let flags: Vec<String> = unallowed.iter().map(|id| format!("--allow-replace {id}")).collect();
    format!(
        "refused: the change set for {stack} {}; nothing was executed and the change set is deleted. If that is \
         intended, deploy again with {}",
        describe(changes, unallowed),
        flags.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change(action: &str, id: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.to_owned(),
            logical_id: id.to_owned(),
            resource_type: "AWS::Test::Thing".to_owned(),
            replacement: replacement.map(str::to_owned),
            ..ResourceChange::default()
        }
    }

    /// A template in CloudFormation's JSON, with the given resources marked stateful.
    fn template(stateful: &[(&str, &str)], plain: &[&str]) -> Value {
        let mut resources = serde_json::Map::new();
        for (id, reason) in stateful {
            resources.insert(
                (*id).to_owned(),
                json!({"Type": "AWS::Test::Thing", "Metadata": {"zipster": {"stateful": reason}, "checkov": {}}}),
            );
        }
        for id in plain {
            resources.insert((*id).to_owned(), json!({"Type": "AWS::Test::Thing", "Metadata": {"checkov": {}}}));
        }
        json!({ "Resources": resources })
    }

    #[test]
    fn only_replacing_or_removing_a_marked_resource_is_a_stateful_change() {
        let new = template(
            &[("DatabaseHost", "the database's data lives on it"), ("DataVolume", "the data")],
            &["TransformFunction"],
        );
        let mut changes = vec![
            change("Modify", "DatabaseHost", Some("True")),
            change("Modify", "DataVolume", Some("False")),
            change("Modify", "TransformFunction", Some("True")),
            change("Add", "NewTopic", None),
        ];
        assert_eq!(mark(&mut changes, &new, None), 1);
        assert_eq!(changes[0].stateful.as_deref(), Some("the database's data lives on it"));
        assert!(changes[1..].iter().all(|c| c.stateful.is_none()), "{changes:?}");

        // Conditional is a replacement CloudFormation cannot rule out: as good as True.
        let mut conditional = vec![change("Modify", "DataVolume", Some("Conditional"))];
        assert_eq!(mark(&mut conditional, &new, None), 1);
    }

    #[test]
    fn removals_are_judged_by_the_deployed_template_replacements_by_the_new_one() {
        // The bucket is gone from the new template, marker and all; the deployed one had it.
        let deployed = template(&[("InputBucket", "holds the feeds"), ("OldQueue", "failed events")], &[]);
        let new = template(&[("OldQueue", "failed events")], &[]);
        let mut changes = vec![change("Remove", "InputBucket", None), change("Modify", "OldQueue", Some("False"))];
        assert_eq!(mark(&mut changes, &new, Some(&deployed)), 1);
        assert_eq!(changes[0].stateful.as_deref(), Some("holds the feeds"));
        // Without the deployed template (a first deploy) nothing can be removed.
        assert_eq!(mark(&mut changes, &new, None), 0);
        // A replacement of a resource the new template no longer marks is not gated.
        let unmarked = template(&[], &["InputBucket"]);
        let mut replaced = vec![change("Modify", "InputBucket", Some("True"))];
        assert_eq!(mark(&mut replaced, &unmarked, Some(&deployed)), 0);
    }

    #[test]
    fn allow_replace_lets_exactly_the_named_ones_through() {
        let new = template(&[("DatabaseHost", "data"), ("InputBucket", "feeds")], &[]);
        let mut changes =
            vec![change("Modify", "DatabaseHost", Some("True")), change("Modify", "InputBucket", Some("True"))];
        mark(&mut changes, &new, None);

        let none = judge(&changes, &[]);
        assert_eq!(none.unallowed, ["DatabaseHost", "InputBucket"]);
        assert!(none.allowed.is_empty() && none.unused.is_empty());

        let one = judge(&changes, &["DatabaseHost".to_owned(), "Typo".to_owned()]);
        assert_eq!(
            (one.allowed, one.unallowed, one.unused),
            (vec!["DatabaseHost".to_owned()], vec!["InputBucket".to_owned()], vec!["Typo".to_owned()])
        );

        let both = judge(&changes, &["InputBucket".to_owned(), "DatabaseHost".to_owned()]);
        assert!(both.unallowed.is_empty());
        assert_eq!(judge(&[change("Modify", "X", Some("False"))], &[]), Verdict::default());
    }

    #[test]
    fn the_refusal_names_each_resource_and_the_flag_that_allows_it() {
        let deployed = template(&[("ErrorsBucket", "holds the rejects")], &[]);
        let new = template(&[("DatabaseHost", "the data lives on it")], &[]);
        let mut changes = vec![change("Modify", "DatabaseHost", Some("True")), change("Remove", "ErrorsBucket", None)];
        mark(&mut changes, &new, Some(&deployed));
        let verdict = judge(&changes, &[]);
        let line = refusal(&changes, &verdict.unallowed, "zipster-dev");
        assert_eq!(
            line,
            "refused: the change set for zipster-dev replaces DatabaseHost (the data lives on it), removes \
             ErrorsBucket (holds the rejects); nothing was executed and the change set is deleted. If that is \
             intended, deploy again with --allow-replace DatabaseHost --allow-replace ErrorsBucket"
        );
        assert!(!line.contains('\n'));
        assert!(question(&changes, &verdict.unallowed, "zipster-dev").contains("replaces DatabaseHost"));
    }
}

//! The app list and group documents against the `Value` renderer.

use super::*;

#[test]
fn list_and_group_documents_are_the_value_renderers() {
    let state = fixture();
    let views: Vec<AppView> = state
        .apps()
        .map(|a| AppView::new(a, &state, AppEmbed::INFO_WITH_TASKS))
        .collect();
    let want: Vec<Value> = state
        .apps()
        .map(|a| {
            let mut doc = legacy::app_info(a, &state);
            doc["tasks"] = json!(legacy::tasks(&state, &a.spec.id));
            doc
        })
        .collect();
    let list = document("apps", &views, 0).expect("renders");
    assert_eq!(parsed(&list), json!({ "apps": want }));

    let embeds: [&[&str]; 6] = [
        &[],
        &["group.groups", "group.apps"],
        &["group.apps.tasks"],
        &[
            "group.groups",
            "group.apps.counts",
            "group.apps.deployments",
        ],
        &[
            "group.groups",
            "group.apps.lastTaskFailure",
            "group.apps.tasks",
            "group.pods",
        ],
        &["group.groups"],
    ];
    let mut groups = vec![PathId::root()];
    groups.extend(state.groups().map(|g| g.id.clone()));
    assert!(groups.contains(&path("/tools/batch")));
    for embed in embeds {
        let embed = Embed::parse(embed).expect("known embeds");
        for id in &groups {
            let want = legacy::group_json(&state, id, embed).expect("the group exists");
            let view = GroupView::new(&state, id, embed).expect("the group exists");
            assert_eq!(parsed(&bytes(&view)), want, "{id} {embed:?}");
            assert_eq!(group_json(&state, id, embed), Some(want));
        }
    }
    let missing = path("/nowhere");
    assert!(GroupView::new(&state, &missing, Embed::default()).is_none());
    assert_eq!(group_json(&state, &missing, Embed::default()), None);
}

use super::*;

const MANIFEST: &str = "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    name: http\n---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n";

fn patch(text: &str, target: Option<Target>) -> Patch {
    Patch {
        text: text.into(),
        kind: None,
        target,
    }
}

fn one_step(patches: Vec<Patch>) -> PostRender {
    PostRender {
        steps: vec![Step {
            patches,
            images: Vec::new(),
        }],
        ..PostRender::default()
    }
}

#[test]
fn json6902_by_target_changes_only_that_document() {
    let target = Target {
        kind: Some("Service".into()),
        ..Target::default()
    };
    let pr = one_step(vec![patch(
        "- op: replace\n  path: /spec/ports/0/port\n  value: 8080\n",
        Some(target),
    )]);
    let out = post_render(MANIFEST, &pr, "ns", &Schemas::new()).expect("post-render");
    assert_eq!(
        out,
        "---\n# Source: c/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - name: http\n    port: 8080\n---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: \"1\"\n"
    );
}

#[test]
fn a_merge_patch_names_its_object_and_metadata_is_common() {
    let pr = PostRender {
        steps: vec![Step {
            patches: vec![Patch {
                text: "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": {\"name\": \"web\"}, \"data\": {\"a\": null, \"b\": \"2\"}}".into(),
                kind: Some(PatchKind::Merge),
                target: None,
            }],
            images: Vec::new(),
        }],
        labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
        annotations: BTreeMap::new(),
    };
    let out = post_render(MANIFEST, &pr, "ns", &Schemas::new()).expect("post-render");
    assert!(out.contains("data:\n  b: \"2\"\n"), "{out}");
    assert!(!out.contains("a: \"1\""), "{out}");
    assert_eq!(out.matches("team: a").count(), 2, "{out}");
}

#[test]
fn nothing_to_do_keeps_the_text_and_bad_patches_are_named() {
    let same = post_render(MANIFEST, &PostRender::default(), "ns", &Schemas::new());
    assert_eq!(same.expect("unchanged"), MANIFEST);
    let no_target = one_step(vec![patch("- op: remove\n  path: /data\n", None)]);
    let err = post_render(MANIFEST, &no_target, "ns", &Schemas::new()).expect_err("target");
    assert!(
        err.to_string()
            .contains("patches[0]: a JSON 6902 patch needs a target"),
        "{err}"
    );
    let missing = one_step(vec![patch(
        "- op: remove\n  path: /spec/nothing\n",
        Some(Target {
            kind: Some("Service".into()),
            ..Target::default()
        }),
    )]);
    let err = post_render(MANIFEST, &missing, "ns", &Schemas::new()).expect_err("path");
    assert!(
        err.to_string()
            .contains("on Service web (c/templates/svc.yaml)"),
        "{err}"
    );
}

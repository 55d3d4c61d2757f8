//! Charts from Git repositories with `rudder run`, against the real
//! control plane and the real `git http-backend` on 127.0.0.1 (see
//! `git_server`): a chart committed to a branch installs and `helm`
//! agrees; a new commit upgrades the release to revision 2; polling an
//! unchanged branch lists refs but fetches no objects (counted from the
//! server's request log); tag and semver refs pick their commits; a wrong
//! URL, a missing ref and missing or wrong credentials are clear
//! conditions; basic auth from `secretRef` works.

mod e2e;
mod git_server;
mod hr;
mod repo_server;

use std::path::Path;
use std::time::Duration;

use e2e::{Rudder, TestNamespace, eventually, helm, helm_history, helm_json};
use git_server::{GitServer, git};
use hr::*;
use k8s_openapi::api::core::v1::Secret;
use kube::api::PostParams;
use kube::{Api, Client};
use rudder::api::{GitRepository, HelmRelease};
use serde_json::json;

const USER: &str = "git-user";
const PASSWORD: &str = "git-pw";

/// Writes chart `app` `version` under `work/charts/app`, with a ConfigMap
/// holding `.Values.v` and a `values.yaml` of `v: <value>`.
fn write_app(work: &Path, version: &str, value: &str) {
    let dir = work.join("charts/app");
    std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
    std::fs::write(
        dir.join("Chart.yaml"),
        format!("apiVersion: v2\nname: app\nversion: {version}\n"),
    )
    .expect("Chart.yaml");
    std::fs::write(dir.join("values.yaml"), format!("v: {value}\n")).expect("values");
    std::fs::write(dir.join("templates/cm.yaml"), CM_TEMPLATE).expect("template");
}

/// Commits everything in `work` and pushes `main` to `remotes`;
/// the commit id.
fn commit_and_push(work: &Path, message: &str, remotes: &[&Path]) -> String {
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", message]);
    for r in remotes {
        git(work, &["push", "-q", &r.display().to_string(), "main"]);
    }
    git(work, &["rev-parse", "HEAD"])
}

async fn git_repository(
    client: &Client,
    ns: &str,
    name: &str,
    url: &str,
    extra: serde_json::Value,
) {
    let mut spec = json!({"url": url, "interval": "2s", "timeout": "20s"});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    create_json::<GitRepository>(
        client,
        ns,
        json!({"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "GitRepository",
               "metadata": {"name": name}, "spec": spec}),
    )
    .await;
}

/// A HelmRelease of the chart at `path` of GitRepository `repo`.
fn git_release(name: &str, repo: &str, path: &str, version: &str) -> HelmRelease {
    let mut r = release(name, repo, path, version, json!({}));
    r.spec.chart.repository_ref.kind = rudder::api::helmrelease::SourceKind::GitRepository;
    r
}

/// Waits until GitRepository `name`'s Ready condition has `reason`; its
/// message and the artifact revision.
async fn wait_git(api: &Api<GitRepository>, name: &str, reason: &str) -> (String, Option<String>) {
    let last = api.get(name).await.ok().and_then(|o| o.status);
    eprintln!("GitRepository {name} before waiting: {last:?}");
    eventually(
        &format!("GitRepository {name}: Ready {reason}"),
        Duration::from_secs(90),
        || async {
            let obj = api.get(name).await.ok()?;
            let st = obj.status?;
            let c = st
                .conditions
                .iter()
                .find(|c| c.type_ == "Ready" && c.reason == reason)?;
            Some((c.message.clone(), st.artifact.map(|a| a.revision)))
        },
    )
    .await
}

async fn basic_auth_secret(client: &Client, ns: &str, name: &str, password: &str) {
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": {"username": USER, "password": password},
    }))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create Secret");
}

#[tokio::test]
async fn git_charts_install_upgrade_and_fetch_only_when_the_ref_moves() {
    let client = e2e::client().await;
    e2e::install_crds(&client).await;
    let ns = TestNamespace::create(&client, "git-src").await;
    let tmp = tempfile::tempdir().expect("tempdir");

    // A bare repository served over smart HTTP, and a private copy.
    let root = tmp.path().join("srv");
    let (public, private) = (root.join("charts.git"), root.join("private/charts.git"));
    for r in [&public, &private] {
        std::fs::create_dir_all(r).expect("mkdir");
        git(r, &["init", "-q", "--bare", "-b", "main"]);
    }
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");
    git(&work, &["init", "-q", "-b", "main"]);
    write_app(&work, "0.1.0", "one");
    std::fs::write(work.join("README.md"), "charts\n").expect("readme");
    let first = commit_and_push(&work, "app 0.1.0", &[&public, &private]);
    git(&work, &["tag", "v0.1.0"]);
    git(
        &work,
        &["push", "-q", "--tags", &public.display().to_string()],
    );
    let server = GitServer::start(&root, Some((USER, PASSWORD))).await;

    let gits: Api<GitRepository> = Api::namespaced(client.clone(), &ns.name);
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), &ns.name);
    git_repository(
        &client,
        &ns.name,
        "repo",
        &server.url("charts.git"),
        json!({"ref": {"branch": "main"}}),
    )
    .await;
    let cache = tmp.path().join("cache").display().to_string();
    let rudder = Rudder::start(&ns.name, "git-sources", &["--cache-dir", &cache]);

    // Installs from the branch; helm agrees.
    let (msg, revision) = wait_git(&gits, "repo", "Succeeded").await;
    assert_eq!(
        revision.as_deref(),
        Some(format!("main@sha1:{first}").as_str()),
        "{msg}"
    );
    api.create(
        &PostParams::default(),
        &git_release("app", "repo", "./charts/app", "0.1.x"),
    )
    .await
    .expect("create HelmRelease");
    wait_revision(&api, "app", 1).await;
    let list = helm_json(&["list", "-n", &ns.name]);
    assert_eq!(list[0]["chart"], "app-0.1.0", "{list}");
    let manifest = helm(&["get", "manifest", "app", "-n", &ns.name]);
    assert!(
        manifest.contains("name: app-cm") && manifest.contains("v: \"one\""),
        "{manifest}"
    );
    let status = api.get("app").await.expect("get").status.expect("status");
    assert_eq!(status.chart_version.as_deref(), Some("0.1.0"));
    assert_eq!(status.source_revision, revision);
    assert_eq!(
        server.count("charts.git", "fetch"),
        1,
        "{:#?}",
        server.requests()
    );

    // Polling an unchanged branch: refs listed again, nothing fetched,
    // the release not upgraded.
    let listed = server.count("charts.git", "ls-refs");
    eventually(
        "three more ref listings",
        Duration::from_secs(60),
        || async { (server.count("charts.git", "ls-refs") >= listed + 3).then_some(()) },
    )
    .await;
    assert_eq!(
        server.count("charts.git", "fetch"),
        1,
        "{:#?}",
        server.requests()
    );
    assert_eq!(helm_history(&ns.name, "app").len(), 1);

    // A new commit on the branch: fetched once, upgraded to revision 2.
    write_app(&work, "0.1.1", "two");
    let second = commit_and_push(&work, "app 0.1.1", &[&public]);
    git(&work, &["tag", "v0.2.0"]);
    git(
        &work,
        &["push", "-q", "--tags", &public.display().to_string()],
    );
    wait_revision(&api, "app", 2).await;
    let manifest = helm(&["get", "manifest", "app", "-n", &ns.name]);
    assert!(manifest.contains("v: \"two\""), "{manifest}");
    let status = api.get("app").await.expect("get").status.expect("status");
    assert_eq!(status.chart_version.as_deref(), Some("0.1.1"));
    assert_eq!(status.source_revision, Some(format!("main@sha1:{second}")));
    assert_eq!(
        server.count("charts.git", "fetch"),
        2,
        "{:#?}",
        server.requests()
    );
    assert_eq!(
        helm_history(&ns.name, "app")
            .iter()
            .map(|h| h.0)
            .collect::<Vec<_>>(),
        [1, 2]
    );

    // A commit outside the chart's directory: fetched, but the chart is the
    // same archive, so the release stays at revision 2 (asked to reconcile,
    // it finds nothing to do).
    std::fs::write(work.join("NOTES.md"), "not part of the chart\n").expect("notes");
    let third = commit_and_push(&work, "notes", &[&public]);
    e2e::eventually(
        "GitRepository at the notes commit",
        std::time::Duration::from_secs(60),
        || async {
            let rev = gits.get("repo").await.ok()?.status?.artifact?.revision;
            rev.ends_with(&third).then_some(())
        },
    )
    .await;
    patch_annotations(
        &api,
        "app",
        json!({"helm.rudder.dev/requested-at": "notes"}),
    )
    .await;
    e2e::eventually(
        "the reconcile asked for",
        std::time::Duration::from_secs(60),
        || async {
            let st = api.get("app").await.ok()?.status?;
            (st.last_handled_requested_at.as_deref() == Some("notes")).then_some(())
        },
    )
    .await;
    assert_eq!(
        helm_history(&ns.name, "app")
            .iter()
            .map(|h| h.0)
            .collect::<Vec<_>>(),
        [1, 2],
        "a commit outside the chart directory upgraded the release"
    );
    let status = api.get("app").await.expect("get").status.expect("status");
    assert_eq!(status.source_revision, Some(format!("main@sha1:{second}")));

    // Tag and semver refs.
    git_repository(
        &client,
        &ns.name,
        "tagged",
        &server.url("charts.git"),
        json!({"ref": {"tag": "v0.1.0"}}),
    )
    .await;
    git_repository(
        &client,
        &ns.name,
        "semver",
        &server.url("charts.git"),
        json!({"ref": {"semver": "0.x"}}),
    )
    .await;
    let (_, tagged) = wait_git(&gits, "tagged", "Succeeded").await;
    assert_eq!(tagged, Some(format!("v0.1.0@sha1:{first}")));
    let (_, semver) = wait_git(&gits, "semver", "Succeeded").await;
    assert_eq!(semver, Some(format!("v0.2.0@sha1:{second}")));
    let pin = json!({"ref": {"commit": first}});
    git_repository(&client, &ns.name, "pinned", &server.url("charts.git"), pin).await;
    let (_, pinned) = wait_git(&gits, "pinned", "Succeeded").await;
    assert_eq!(pinned, Some(format!("sha1:{first}")));
    api.create(
        &PostParams::default(),
        &git_release("bytag", "tagged", "charts/app", "*"),
    )
    .await
    .expect("create");
    wait_revision(&api, "bytag", 1).await;
    let cm = configmap(&client, &ns.name, "bytag-cm")
        .await
        .expect("bytag-cm");
    assert_eq!(
        cm.data.unwrap_or_default().get("v").map(String::as_str),
        Some("one")
    );

    // A version constraint the chart does not satisfy.
    api.create(
        &PostParams::default(),
        &git_release("toonew", "repo", "charts/app", "9.x"),
    )
    .await
    .expect("create");
    let msg = wait_condition(&api, "toonew", "Ready", "ChartVersionMismatch").await;
    assert!(msg.contains("app 0.1.1") && msg.contains("9.x"), "{msg}");

    // Wrong URL, missing ref, missing and wrong credentials, good ones.
    basic_auth_secret(&client, &ns.name, "good", PASSWORD).await;
    basic_auth_secret(&client, &ns.name, "bad", "wrong").await;
    let private_url = server.url("private/charts.git");
    git_repository(
        &client,
        &ns.name,
        "wrongurl",
        &server.url("nope.git"),
        json!({}),
    )
    .await;
    git_repository(
        &client,
        &ns.name,
        "noref",
        &server.url("charts.git"),
        json!({"ref": {"branch": "nope"}}),
    )
    .await;
    git_repository(&client, &ns.name, "anon", &private_url, json!({})).await;
    git_repository(
        &client,
        &ns.name,
        "badcreds",
        &private_url,
        json!({"secretRef": {"name": "bad"}}),
    )
    .await;
    git_repository(
        &client,
        &ns.name,
        "creds",
        &private_url,
        json!({"secretRef": {"name": "good"}}),
    )
    .await;
    let (msg, _) = wait_git(&gits, "wrongurl", "Unreachable").await;
    assert!(msg.contains("nope.git"), "{msg}");
    let (msg, _) = wait_git(&gits, "noref", "RefNotFound").await;
    assert!(msg.contains("branch \"nope\" not found"), "{msg}");
    let (msg, _) = wait_git(&gits, "anon", "Unauthorized").await;
    assert!(msg.contains("no secretRef"), "{msg}");
    let (msg, _) = wait_git(&gits, "badcreds", "Unauthorized").await;
    assert!(msg.contains("refused"), "{msg}");
    let (_, rev) = wait_git(&gits, "creds", "Succeeded").await;
    assert_eq!(rev, Some(format!("HEAD@sha1:{first}")));

    api.create(
        &PostParams::default(),
        &git_release("private", "creds", "charts/app", "*"),
    )
    .await
    .expect("create");
    wait_revision(&api, "private", 1).await;
    api.create(
        &PostParams::default(),
        &git_release("broken", "noref", "charts/app", "*"),
    )
    .await
    .expect("create");
    let msg = wait_condition(&api, "broken", "Ready", "SourceNotReady").await;
    assert!(
        msg.contains("noref") && msg.contains("RefNotFound"),
        "{msg}"
    );
    assert!(configmap(&client, &ns.name, "broken-cm").await.is_none());
    // The API server refuses two refs at once and other URL schemes.
    let two = json!({"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "GitRepository",
        "metadata": {"name": "two"},
        "spec": {"url": server.url("charts.git"), "ref": {"branch": "main", "tag": "v0.1.0"}}});
    let err = gits
        .create(
            &PostParams::default(),
            &serde_json::from_value(two).expect("object"),
        )
        .await
        .expect_err("two refs");
    assert!(
        err.to_string()
            .contains("exactly one of branch, tag, semver and commit"),
        "{err}"
    );
    let ssh = json!({"apiVersion": "helm.rudder.dev/v1alpha1", "kind": "GitRepository",
        "metadata": {"name": "ssh"}, "spec": {"url": "ssh://git@127.0.0.1/charts.git"}});
    let err = gits
        .create(
            &PostParams::default(),
            &serde_json::from_value(ssh).expect("object"),
        )
        .await
        .expect_err("ssh URL");
    assert!(err.to_string().contains("url must start with"), "{err}");

    // Deleting a GitRepository removes its mirror from the cache.
    let mirror = Path::new(&cache).join(format!("git/{}_pinned.git", ns.name));
    assert!(mirror.join("HEAD").exists(), "{}", mirror.display());
    gits.delete("pinned", &Default::default())
        .await
        .expect("delete");
    eventually("the mirror removed", Duration::from_secs(30), || async {
        (!mirror.exists()).then_some(())
    })
    .await;

    // Sync times as rudder logged them (listing only vs. fetching).
    for line in rudder
        .logs()
        .lines()
        .filter(|l| l.contains("synced Git repository"))
    {
        eprintln!("{line}");
    }
    drop(rudder);
}

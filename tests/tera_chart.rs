//! `engine: tera` charts: the example chart under charts/examples renders
//! with the Go-template context (Values, Release, Chart, Capabilities) and
//! goes through the same manifest output as Go-template charts.

use std::process::Command;

#[test]
fn tera_example_chart_renders() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/examples/tera-hello");
    let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .args([
            "template",
            "demo",
            dir,
            "--namespace",
            "apps",
            "--kube-version",
            "1.31.2",
        ])
        .output()
        .expect("run rudder");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = "---
# Source: tera-hello/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: demo-tera-hello
  namespace: apps
  labels:
    team: platform
data:
  kubeVersion: \"v1.31.2\"
  greeting-1: \"Hello, world!\"
  greeting-2: \"Hello, rudder!\"
";
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
}

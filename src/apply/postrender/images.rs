//! Image overrides, as kustomize's `images` transformer makes them: every
//! `image` of an entry in a `containers`, `initContainers` or
//! `ephemeralContainers` list anywhere in an object (Pods, workload
//! templates, CronJobs) whose name matches gets a new name, tag or digest.

use serde_json::Value as Json;

use super::Image;

const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// `image` split into name, tag and digest (`name[:tag][@digest]`; a
/// colon before the last slash is a registry port, not a tag).
fn split(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// `image` with the override applied, if its name matches.
fn rewrite(image: &str, o: &Image) -> Option<String> {
    let (name, tag, digest) = split(image);
    if name != o.name {
        return None;
    }
    let mut out = o.new_name.clone().unwrap_or_else(|| name.to_string());
    if let Some(d) = &o.digest {
        out.push('@');
        out.push_str(d);
    } else if let Some(t) = &o.new_tag {
        out.push(':');
        out.push_str(t);
    } else {
        if let Some(t) = tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = digest {
            out.push('@');
            out.push_str(d);
        }
    }
    Some(out)
}

/// Applies `overrides` (the first matching one per image) to every
/// container image in `obj`; true when anything changed.
pub fn apply(obj: &mut Json, overrides: &[Image]) -> bool {
    let mut changed = false;
    match obj {
        Json::Object(map) => {
            for (key, value) in map.iter_mut() {
                if CONTAINER_LISTS.contains(&key.as_str())
                    && let Json::Array(items) = value
                {
                    for c in items.iter_mut() {
                        changed |= rewrite_container(c, overrides);
                    }
                }
                changed |= apply(value, overrides);
            }
        }
        Json::Array(items) => {
            for v in items {
                changed |= apply(v, overrides);
            }
        }
        _ => {}
    }
    changed
}

fn rewrite_container(c: &mut Json, overrides: &[Image]) -> bool {
    let Some(image) = c.get("image").and_then(Json::as_str) else {
        return false;
    };
    let Some(new) = overrides.iter().find_map(|o| rewrite(image, o)) else {
        return false;
    };
    if new == image {
        return false;
    }
    c["image"] = Json::String(new);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn image(name: &str, new_name: Option<&str>, tag: Option<&str>, digest: Option<&str>) -> Image {
        Image {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    #[test]
    fn names_tags_and_digests() {
        assert_eq!(
            split("reg:5000/a/b:1.2@sha256:x"),
            ("reg:5000/a/b", Some("1.2"), Some("sha256:x"))
        );
        assert_eq!(split("reg:5000/a/b"), ("reg:5000/a/b", None, None));
        let o = image("nginx", Some("mirror/nginx"), Some("1.27"), None);
        assert_eq!(
            rewrite("nginx:1.25", &o).as_deref(),
            Some("mirror/nginx:1.27")
        );
        assert_eq!(rewrite("nginxx:1.25", &o), None);
        let d = image("nginx", None, Some("x"), Some("sha256:abc"));
        assert_eq!(
            rewrite("nginx:1.25", &d).as_deref(),
            Some("nginx@sha256:abc")
        );
        let keep = image("nginx", Some("m/nginx"), None, None);
        assert_eq!(
            rewrite("nginx:1.25", &keep).as_deref(),
            Some("m/nginx:1.25")
        );
    }

    #[test]
    fn every_container_list_is_rewritten() {
        let mut obj = json!({"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "image": "busybox"}],
            "containers": [{"name": "a", "image": "nginx:1"}, {"name": "b", "image": "other"}]}}}});
        let overrides = [
            image("nginx", None, Some("2"), None),
            image("busybox", None, Some("1.36"), None),
        ];
        assert!(apply(&mut obj, &overrides));
        let spec = &obj["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["image"], "nginx:2");
        assert_eq!(spec["containers"][1]["image"], "other");
        assert_eq!(spec["initContainers"][0]["image"], "busybox:1.36");
        assert!(!apply(&mut obj, &overrides));
    }
}

//! `.gitlab-ci.yml`: the same pipeline as [`crate::github`] in GitLab's terms. An
//! `install-hoist` job builds the pinned hoist once per commit of hoist (cached) and hands it
//! to the others as an artifact; `check` runs on merge requests and pushes; one `deploy-ENV`
//! job per deployed environment runs on the pushes `ci.deploy` maps to it, in a
//! `resource_group` of its own (deploys to one environment never overlap), and exports the
//! pushed image, digest and tags as a dotenv report.

use std::fmt::Write as _;

use crate::shell::{word, yaml};
use crate::{Environment, Pipeline};

/// Where the file goes, relative to the repository root.
pub const PATH: &str = ".gitlab-ci.yml";

/// The image `install-hoist` builds hoist in (hoist's minimum Rust).
const RUST_IMAGE: &str = "rust:1.95-bookworm";

/// The file's text, without the header (see [`crate::header::stamp`]).
pub fn pipeline(p: &Pipeline) -> String {
    let mut w = String::new();
    w.push_str(concat!(
        "workflow:\n",
        "  rules:\n",
        "    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n",
        "    # A branch with an open merge request runs as that merge request, not twice.\n",
        "    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS\n",
        "      when: never\n",
        "    - if: $CI_COMMIT_BRANCH\n",
        "    - if: $CI_COMMIT_TAG\n",
        "\nstages: [hoist, check, deploy]\n\nvariables:\n",
    ));
    let _ = writeln!(w, "  HOIST_VERSION: {}", yaml(&p.install.version));
    let _ = writeln!(w, "  HOIST_GIT: {}", yaml(&p.install.git));
    let _ = writeln!(w, "  HOIST_REV: {}", yaml(&p.install.rev));
    w.push_str(concat!(
        "  NO_COLOR: '1'\n",
        "  # The whole history: the tag policy and `git describe` read tags.\n",
        "  GIT_DEPTH: '0'\n",
        "  GOPATH: $CI_PROJECT_DIR/.cache/go\n",
        "  GOCACHE: $CI_PROJECT_DIR/.cache/go-build\n",
        "  HOIST_CACHE_DIR: $CI_PROJECT_DIR/.cache/hoist\n",
    ));
    let _ = write!(
        w,
        "\ndefault:\n  image: {}\n  cache:\n    key:\n",
        yaml(&format!("golang:{}", p.go_version))
    );
    if p.go_sum {
        let _ = writeln!(w, "      files: [{}]", yaml(&p.module_file("go.sum")));
    } else {
        w.push_str("      prefix: go\n      files: [.gitlab-ci.yml]\n");
    }
    w.push_str(concat!(
        "    paths: [.cache/go/pkg/mod/, .cache/go-build/, .cache/hoist/]\n",
        "  before_script:\n",
        "    - export PATH=\"$CI_PROJECT_DIR/.hoist/bin:$PATH\"\n",
        "    - test \"$(hoist --version)\" = \"hoist $HOIST_VERSION\"\n",
    ));
    if p.dir != "." {
        let _ = writeln!(w, "    - cd {}", yaml(&p.dir));
    }
    install_job(&mut w);
    check_job(&mut w, p);
    for env in p.deployed() {
        deploy_job(&mut w, p, env);
    }
    w
}

/// hoist from the pinned commit: `cargo install --locked` (the commit names the source,
/// Cargo.lock every dependency's checksum), cached per commit.
fn install_job(w: &mut String) {
    let _ = write!(
        w,
        concat!(
            "\ninstall-hoist:\n",
            "  stage: hoist\n",
            "  image: {image}\n",
            "  cache:\n",
            "    key: hoist-$HOIST_REV\n",
            "    paths: [.hoist/]\n",
            "  before_script: []\n",
            "  script:\n",
            "    - |\n",
            "      if [ \"$(.hoist/bin/hoist --version 2>/dev/null)\" != \"hoist $HOIST_VERSION\" ]; then\n",
            "        cargo install --locked --git \"$HOIST_GIT\" --rev \"$HOIST_REV\" --root .hoist hoist\n",
            "      fi\n",
            "  artifacts:\n",
            "    paths: [.hoist/bin/hoist]\n",
            "    expire_in: 1 day\n",
        ),
        image = yaml(RUST_IMAGE)
    );
}

/// Tests, a build, and a render of every environment that has an image repository.
fn check_job(w: &mut String, p: &Pipeline) {
    w.push_str(
        "\ncheck:\n  stage: check\n  needs: [install-hoist]\n  interruptible: true\n  script:\n",
    );
    for command in &p.ci.test {
        let _ = writeln!(w, "    - {}", yaml(command));
    }
    w.push_str("    - hoist build\n");
    for env in p.environments.iter().filter(|e| e.repository) {
        let e = word(&env.name);
        let _ = writeln!(
            w,
            "    - {}",
            yaml(&format!(
                "hoist render --env {e} --image \"$(hoist build --env {e})\" > /dev/null"
            ))
        );
    }
}

/// Build and push for `env`, then deploy it and wait for the rollout.
fn deploy_job(w: &mut String, p: &Pipeline, env: &Environment) {
    let name = &env.name;
    let e = word(name);
    let _ = write!(
        w,
        "\ndeploy-{name}:\n  stage: deploy\n  needs: [install-hoist, check]\n  rules:\n"
    );
    for rule in p.ci.deploy.iter().filter(|r| &r.environment == name) {
        let _ = writeln!(w, "    - if: {}", condition(p, rule));
    }
    let _ = write!(
        w,
        "  environment:\n    name: {n}\n  resource_group: {g}\n",
        n = yaml(name),
        g = yaml(&format!("hoist-deploy-{name}"))
    );
    // GitHub's label for its hosted runners means nothing to GitLab: shared runners then.
    if p.ci.runs_on != ["ubuntu-latest"] {
        let tags: Vec<String> = p.ci.runs_on.iter().map(|t| yaml(t)).collect();
        let _ = writeln!(w, "  tags: [{}]", tags.join(", "));
    }
    let build = if env.repository {
        format!("hoist build --push --env {e}")
    } else {
        format!("hoist build --env {e}")
    };
    let deploy = if env.kubernetes {
        // KUBECONFIG: a CI/CD variable of type File, which GitLab sets to the file's path.
        format!("hoist deploy --env {e} --image \"$image\"")
    } else {
        format!("hoist deploy --env {e}")
    };
    let _ = write!(
        w,
        concat!(
            "  script:\n",
            "    - |\n",
            "      image=$({build})\n",
            "      tags=$(hoist tags --env {e} | paste -sd, -)\n",
            "      {{\n",
            "        echo \"HOIST_IMAGE=$image\"\n",
            "        echo \"HOIST_DIGEST=${{image##*@}}\"\n",
            "        echo \"HOIST_TAGS=$tags\"\n",
            "      }} > \"$CI_PROJECT_DIR/hoist.env\"\n",
            "      echo \"{name}: $image (tags: ${{tags:-none}})\"\n",
            "      {deploy}\n",
            "  artifacts:\n",
            "    reports:\n",
            "      dotenv: hoist.env\n",
        ),
        build = build,
        e = e,
        name = name,
        deploy = deploy,
    );
}

/// A rule's `if:`: the branch it names, or a tag with its prefix and no longer prefix of
/// another environment's rule.
fn condition(p: &Pipeline, rule: &hoist_core::DeployRule) -> String {
    if !rule.is_tag_pattern() {
        return format!("$CI_COMMIT_BRANCH == {}", double_quoted(&rule.on));
    }
    let prefix = rule.on.trim_end_matches('*');
    let mut c = format!("$CI_COMMIT_TAG =~ /^{}/", regex_escape(prefix));
    for longer in p.ci.deploy.iter().filter(|o| {
        o.is_tag_pattern()
            && o.environment != rule.environment
            && o.on.len() > rule.on.len()
            && o.on.starts_with(prefix)
    }) {
        let _ = write!(
            c,
            " && $CI_COMMIT_TAG !~ /^{}/",
            regex_escape(longer.on.trim_end_matches('*'))
        );
    }
    c
}

/// A string in GitLab's rule expressions.
fn double_quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A literal prefix in a GitLab rule regex (RE2).
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{monorepo, new_project};

    #[test]
    fn a_new_project_tests_and_builds() {
        let text = pipeline(&new_project());
        assert!(!text.contains("deploy-"), "nothing deploys");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn a_service_deploying_three_environments() {
        let text = pipeline(&monorepo());
        assert!(text.contains("$CI_COMMIT_TAG =~ /^v/ && $CI_COMMIT_TAG !~ /^v0/"));
        insta::assert_snapshot!(text);
    }

    #[test]
    fn regex_prefixes_are_literal() {
        assert_eq!(regex_escape("v1.2"), "v1\\.2");
        assert_eq!(regex_escape("rel/"), "rel\\/");
    }
}

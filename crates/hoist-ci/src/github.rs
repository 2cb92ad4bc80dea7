//! `.github/workflows/hoist.yml`: a `check` job on every pull request and push (the tests,
//! `hoist build`, `hoist render` of every environment), and one `deploy-ENV` job per deployed
//! environment on the pushes `ci.deploy` maps to it (`hoist build --push`, then `hoist deploy`,
//! which fails the job when the rollout fails or is rolled back).
//!
//! Least privilege (`contents: read`), third-party actions pinned by full commit hash, one
//! concurrency group per environment (deploys to one environment never overlap; a newer push
//! replaces one still queued), credentials only from secrets and only in the jobs that need
//! them, and the pushed image, digest and tags as job outputs and in the job summary.

use std::fmt::Write as _;

use crate::shell::{word, yaml};
use crate::{Environment, Pipeline};

/// Where the workflow goes, relative to the repository root.
pub const PATH: &str = ".github/workflows/hoist.yml";

/// `actions/checkout` v4.2.2.
const CHECKOUT: &str = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2";
/// `actions/setup-go` v5.5.0: Go from go.mod, with the module and build caches.
const SETUP_GO: &str = "actions/setup-go@d35c59abb061a4a6fb18e82ac0862c26744d6ab5 # v5.5.0";
/// `actions/cache` v4.2.3: the hoist binary built for `HOIST_REV`.
const CACHE: &str = "actions/cache@5a3ec84eff668545956fd18022155c47e93e2684 # v4.2.3";

/// The workflow's text, without the header (see [`crate::header::stamp`]).
pub fn workflow(p: &Pipeline) -> String {
    let mut w = String::new();
    let branches: Vec<String> = p.branches().iter().map(|b| yaml(b)).collect();
    let tags: Vec<String> = p.tag_patterns().iter().map(|t| yaml(t)).collect();
    w.push_str("name: hoist\n\non:\n  pull_request:\n  push:\n");
    let _ = writeln!(w, "    branches: [{}]", branches.join(", "));
    if !tags.is_empty() {
        let _ = writeln!(w, "    tags: [{}]", tags.join(", "));
    }
    w.push_str("\npermissions:\n  contents: read\n\nenv:\n");
    let _ = writeln!(w, "  HOIST_VERSION: {}", yaml(&p.install.version));
    let _ = writeln!(w, "  HOIST_GIT: {}", yaml(&p.install.git));
    let _ = writeln!(w, "  HOIST_REV: {}", yaml(&p.install.rev));
    w.push_str("  NO_COLOR: '1'\n");
    if p.dir != "." {
        let _ = write!(
            w,
            "\ndefaults:\n  run:\n    working-directory: {}\n",
            yaml(&p.dir)
        );
    }
    w.push_str("\njobs:\n");
    check_job(&mut w, p);
    for env in p.deployed() {
        deploy_job(&mut w, p, env);
    }
    w
}

/// Tests, a build, and a render of every environment that has an image repository (a broken
/// overlay fails review, not the deploy).
fn check_job(w: &mut String, p: &Pipeline) {
    w.push_str("  check:\n    name: test, build, render\n    runs-on: ubuntu-latest\n    steps:\n");
    setup_steps(w, p);
    for command in &p.ci.test {
        let _ = write!(
            w,
            "      - name: {}\n        run: {}\n",
            yaml(command),
            yaml(command)
        );
    }
    w.push_str("      - name: hoist build\n        run: hoist build\n");
    for env in &p.environments {
        if env.repository {
            let e = word(&env.name);
            let _ = write!(
                w,
                "      - name: hoist render --env {name}\n        run: hoist render --env {e} --image \"$(hoist build --env {e})\" > /dev/null\n",
                name = env.name
            );
        }
    }
}

/// Build and push for `env`, then deploy it and wait for the rollout.
fn deploy_job(w: &mut String, p: &Pipeline, env: &Environment) {
    let name = &env.name;
    let e = word(name);
    let _ = write!(
        w,
        "\n  deploy-{name}:\n    name: deploy {name}\n    needs: check\n    if: {}\n",
        condition(p, name)
    );
    let runs_on: Vec<String> = p.ci.runs_on.iter().map(|r| yaml(r)).collect();
    if runs_on.len() == 1 {
        let _ = writeln!(w, "    runs-on: {}", runs_on[0]);
    } else {
        let _ = writeln!(w, "    runs-on: [{}]", runs_on.join(", "));
    }
    let _ = write!(
        w,
        "    environment: {n}\n    concurrency:\n      group: {g}\n      cancel-in-progress: false\n",
        n = yaml(name),
        g = yaml(&format!("hoist-deploy-{name}"))
    );
    w.push_str(
        "    outputs:\n      image: ${{ steps.build.outputs.image }}\n      digest: ${{ steps.build.outputs.digest }}\n      tags: ${{ steps.build.outputs.tags }}\n",
    );
    if env.repository {
        w.push_str(
            "    env:\n      HOIST_REGISTRY_USERNAME: ${{ secrets.HOIST_REGISTRY_USERNAME }}\n      HOIST_REGISTRY_PASSWORD: ${{ secrets.HOIST_REGISTRY_PASSWORD }}\n",
        );
    }
    w.push_str("    steps:\n");
    setup_steps(w, p);
    if env.kubernetes {
        w.push_str(
            "      - name: kubeconfig\n        env:\n          KUBECONFIG_DATA: ${{ secrets.KUBECONFIG }}\n        run: |\n          umask 077\n          printf '%s\\n' \"$KUBECONFIG_DATA\" > \"$RUNNER_TEMP/kubeconfig\"\n          echo \"KUBECONFIG=$RUNNER_TEMP/kubeconfig\" >> \"$GITHUB_ENV\"\n",
        );
    }
    let build = if env.repository {
        format!("hoist build --push --env {e}")
    } else {
        format!("hoist build --env {e}")
    };
    let _ = write!(
        w,
        "      - name: {build}\n        id: build\n        run: |\n          image=$({build})\n          tags=$(hoist tags --env {e} | paste -sd, -)\n          {{\n            echo \"image=$image\"\n            echo \"digest=${{image##*@}}\"\n            echo \"tags=$tags\"\n          }} >> \"$GITHUB_OUTPUT\"\n          {{\n            echo \"### hoist: {name}\"\n            echo\n            echo \"- image: \\`$image\\`\"\n            echo \"- tags: ${{tags:-none}}\"\n          }} >> \"$GITHUB_STEP_SUMMARY\"\n",
    );
    if env.kubernetes {
        let _ = write!(
            w,
            "      - name: hoist deploy --env {name}\n        env:\n          IMAGE: ${{{{ steps.build.outputs.image }}}}\n        run: hoist deploy --env {e} --image \"$IMAGE\"\n",
        );
    } else {
        // The runner's own agent: started by the deploy, it must outlive the job, which the
        // runner's process clean-up would otherwise stop with it.
        let _ = write!(
            w,
            "      - name: hoist deploy --env {name}\n        env:\n          RUNNER_TRACKING_ID: ''\n        run: hoist deploy --env {e}\n",
        );
    }
}

/// The checkout (whole history: the tag policy and `git describe` need tags), Go from go.mod
/// with its caches, and hoist.
fn setup_steps(w: &mut String, p: &Pipeline) {
    let _ = write!(
        w,
        "      - uses: {CHECKOUT}\n        with:\n          fetch-depth: 0\n          persist-credentials: false\n"
    );
    let _ = write!(
        w,
        "      - uses: {SETUP_GO}\n        with:\n          go-version-file: {}\n",
        yaml(&p.module_file("go.mod"))
    );
    if p.go_sum {
        let _ = writeln!(
            w,
            "          cache-dependency-path: {}",
            yaml(&p.module_file("go.sum"))
        );
    } else {
        // setup-go's cache is keyed by go.sum; a module without dependencies has none.
        w.push_str("          cache: false\n");
    }
    let _ = write!(
        w,
        "      - uses: {CACHE}\n        with:\n          path: ~/.hoist\n          key: hoist-${{{{ runner.os }}}}-${{{{ runner.arch }}}}-${{{{ env.HOIST_REV }}}}\n"
    );
    w.push_str(concat!(
        "      - name: install hoist\n",
        "        run: |\n",
        "          if [ \"$(hoist --version 2>/dev/null)\" = \"hoist $HOIST_VERSION\" ]; then exit 0; fi\n",
        "          echo \"$HOME/.hoist/bin\" >> \"$GITHUB_PATH\"\n",
        "          if [ \"$(\"$HOME/.hoist/bin/hoist\" --version 2>/dev/null)\" != \"hoist $HOIST_VERSION\" ]; then\n",
        "            cargo install --locked --git \"$HOIST_GIT\" --rev \"$HOIST_REV\" --root \"$HOME/.hoist\" hoist\n",
        "          fi\n",
    ));
}

/// The `if:` of `env`'s deploy job: a push of a branch it names, or of a tag matching one of
/// its patterns and no longer pattern of another environment.
fn condition(p: &Pipeline, env: &str) -> String {
    let mut alternatives = Vec::new();
    for rule in p.ci.deploy.iter().filter(|r| r.environment == env) {
        if rule.is_tag_pattern() {
            let prefix = rule.on.trim_end_matches('*');
            let mut c = format!("startsWith(github.ref, 'refs/tags/{prefix}')");
            for longer in p.ci.deploy.iter().filter(|o| {
                o.is_tag_pattern()
                    && o.environment != env
                    && o.on.len() > rule.on.len()
                    && o.on.starts_with(prefix)
            }) {
                let _ = write!(
                    c,
                    " && !startsWith(github.ref, 'refs/tags/{}')",
                    longer.on.trim_end_matches('*')
                );
            }
            alternatives.push(c);
        } else {
            alternatives.push(format!("github.ref == 'refs/heads/{}'", rule.on));
        }
    }
    let any = if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        format!("({})", alternatives.join(" || "))
    };
    format!("github.event_name == 'push' && {any}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{monorepo, new_project};

    /// hoist.toml as `hoist init` writes it: no `[ci]`, no environments, a module without
    /// dependencies at the repository root.
    #[test]
    fn a_new_project_tests_and_builds() {
        let text = workflow(&new_project());
        assert!(!text.contains("deploy-"), "nothing deploys");
        insta::assert_snapshot!(text);
    }

    /// A service in a subdirectory of a monorepo: staging on a self-hosted runner's agent from
    /// `main`, prod on Kubernetes from `v*` tags, beta from `v0*` tags.
    #[test]
    fn a_service_deploying_three_environments() {
        let text = workflow(&monorepo());
        // A v0 tag deploys beta only; other v tags prod only.
        assert!(text.contains(
            "startsWith(github.ref, 'refs/tags/v') && !startsWith(github.ref, 'refs/tags/v0')"
        ));
        insta::assert_snapshot!(text);
    }
}

//! The hoist.toml reference, as data beside the parser: every key with its type, default,
//! allowed values, an example and why it exists. `hoist docs config` prints it as Markdown
//! (`docs/config.md`, checked by a test), and a unit test holds the documented keys to the keys
//! the parser accepts, so neither can change without the other.

use std::fmt::Write as _;

/// One table of hoist.toml (or a topic without keys).
struct Section {
    /// `[app]`, `run.health`, `Durations`.
    title: &'static str,
    /// Prose before the table.
    intro: &'static str,
    /// Its keys.
    keys: &'static [Key],
    /// Prose after the table.
    outro: &'static str,
}

/// One key.
struct Key {
    name: &'static str,
    ty: &'static str,
    default: &'static str,
    allowed: &'static str,
    example: &'static str,
    why: &'static str,
}

/// The text before the tables.
const INTRO: &str = r#"`hoist.toml` sits at the root of the Go module. Only `app.name` is required; every other key has
the default shown below. `hoist init` writes a commented starting file, and `hoist config`
(with `--env NAME` if you use environments) prints the file as hoist reads it, with every
default filled in.

```toml
[app]
name = "hello"
main = "./cmd/server"

[build]
platforms = ["linux/amd64", "linux/arm64"]

[image]
repository = "registry.example.com/group/hello"

[run]
replicas = 3
env = { LOG_LEVEL = "info" }
health = { path = "/healthz" }
resources = { cpu = "250m", memory = "128Mi" }

[environments.prod]
run.replicas = 5
image.tags = ["semver", "sha"]
```

Unknown keys are errors (with a suggestion when a key looks like a typo), so a misspelt setting
never goes unnoticed. Every error names the file, line and column, the dotted key, what is wrong
and what is allowed:

```text
hoist.toml:7:12: run.replicas: must be 0 or more, found -1
hoist.toml:4:1: run.replica: unknown key `replica` (did you mean `replicas`?); allowed keys here: `replicas`, `driver`, `env`, …
```"#;

/// Every section, in order.
const SECTIONS: &[Section] = &[
    Section {
        title: "`[app]`",
        intro: "",
        keys: &[
            Key {
                name: "`name`",
                ty: "string",
                default: "**required**",
                allowed: "1–63 lowercase letters, digits and `-`; starts with a letter, ends with a letter or digit",
                example: r#"`"hello"`"#,
                why: "names the binary, the image and every Kubernetes object (the Service needs the leading letter)",
            },
            Key {
                name: "`main`",
                ty: "string",
                default: r#"`"."`"#,
                allowed: "`.` or a package directory starting with `./`, without `..`",
                example: r#"`"./cmd/server"`"#,
                why: "the Go package with `func main`, relative to the directory of hoist.toml (where `go build` runs)",
            },
            Key {
                name: "`port`",
                ty: "integer",
                default: "`8080`",
                allowed: "1–65535",
                example: "`3000`",
                why: "the port the service listens on; exposed in the image, used by probes and the Service",
            },
            Key {
                name: "`args`",
                ty: "array of strings",
                default: "`[]`",
                allowed: "any; `$(NAME)` is expanded as Kubernetes does: `$(PORT)` is the replica's port, other names come from `run.env` (and `$(STATE_DIR)`), `$$` is a literal `$`, unknown names stay as written (with a warning)",
                example: r#"`["serve", "--http=0.0.0.0:$(PORT)"]`"#,
                why: "arguments passed to the binary after the entrypoint; most Go services take their address as a flag",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[build]`",
        intro: "",
        keys: &[
            Key {
                name: "`platforms`",
                ty: "array of strings",
                default: r#"`["linux/amd64"]`"#,
                allowed: "`os/arch` or `os/arch/variant`; os `linux`; arch `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`; variant `v5`–`v7` for arm, `v8` for arm64; at least one, no duplicates",
                example: r#"`["linux/amd64", "linux/arm64"]`"#,
                why: "several platforms produce a multi-platform image index",
            },
            Key {
                name: "`base`",
                ty: "string",
                default: r#"`"static"`"#,
                allowed: r#"`"static"`, `"scratch"`, or an image reference (contains `/` or `:`)"#,
                example: r#"`"gcr.io/distroless/static:nonroot"`"#,
                why: r#"what the app layer sits on: `static` is made by hoist (CA certificates, nonroot user 65532, `/tmp`), `scratch` is empty, an image reference is pulled from its registry (per platform; its layers kept as they are, its `Env` and `User` kept; see "Bases" under `hoist build`)"#,
            },
            Key {
                name: "`tags`",
                ty: "array of strings",
                default: "`[]`",
                allowed: "Go build tags: letters, digits, `_`, `.`, starting with a letter or `_`",
                example: r#"`["netgo", "osusergo"]`"#,
                why: "passed to `go build -tags`",
            },
            Key {
                name: "`ldflags`",
                ty: "array of strings",
                default: "`[]`",
                allowed: "any",
                example: r#"`["-extldflags", "-static"]`"#,
                why: "appended after hoist's own `-ldflags`",
            },
            Key {
                name: "`version_var`",
                ty: "string",
                default: r#"`"main.version"`"#,
                allowed: "`importpath.Name`",
                example: r#"`"example.com/hello/internal/build.Version"`"#,
                why: "the Go variable hoist sets (`-X`) to the version",
            },
            Key {
                name: "`commit_var`",
                ty: "string",
                default: r#"`"main.commit"`"#,
                allowed: "`importpath.Name`",
                example: r#"`"example.com/hello/internal/build.Commit"`"#,
                why: "the Go variable hoist sets (`-X`) to the full commit hash",
            },
            Key {
                name: "`cgo`",
                ty: "boolean",
                default: "unset: built with `CGO_ENABLED=0`; a program whose dependencies need cgo is refused, naming them",
                allowed: "`true`: build with cgo for this machine's platform only and put the shared libraries the binary links (found through the ELF's interpreter and `DT_NEEDED` entries, from this machine) into the image; `false`: build without cgo and skip the check",
                example: "`true`",
                why: "`github.com/mattn/go-sqlite3` and friends compile C; a static build of them gives a program that fails when it starts",
            },
            Key {
                name: "`env`",
                ty: "table of strings",
                default: "`{}`",
                allowed: "environment variable names; not `CGO_ENABLED` (`build.cgo`), `GOOS`, `GOARCH`, `GOARM` (`build.platforms`)",
                example: r#"`{ GOEXPERIMENT = "greenteagc", GOAMD64 = "v3" }`"#,
                why: "extra environment of `go build`; the user's own `GOFLAGS`, `GOPRIVATE`, `GOPROXY` and `~/.netrc` apply as for any `go build` and never reach the image or hoist's output",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[image]`",
        intro: "",
        keys: &[
            Key {
                name: "`repository`",
                ty: "string",
                default: "none (build only, no push)",
                allowed: "a lowercase repository `[registry[:port]/]path`, without tag or digest",
                example: r#"`"registry.example.com/group/hello"`, `"localhost:5000/hello"`"#,
                why: "where `hoist push` and `hoist deploy` send the image",
            },
            Key {
                name: "`tags`",
                ty: "array of strings",
                default: r#"`["latest", "sha", "semver"]`"#,
                allowed: r#"`"latest"` (default branch, clean tree), `"sha"` (`sha-<12 hex>`, `-dirty` for a dirty tree), `"semver"` (`vX.Y.Z`, `vX.Y`, `vX` from a git tag on HEAD, clean tree); a dirty tree gets only `sha-<12 hex>-dirty`; no duplicates; `[]` pushes by digest only"#,
                example: r#"`["semver", "sha"]`"#,
                why: "which tags a push writes",
            },
            Key {
                name: "`labels`",
                ty: "table of strings",
                default: "`{}`",
                allowed: "non-empty keys without spaces",
                example: r#"`{ "org.example.team" = "web" }`"#,
                why: "extra OCI config labels, beside hoist's own `org.opencontainers.image.*`",
            },
            Key {
                name: "`source`",
                ty: "string",
                default: "git's `origin` remote, if any",
                allowed: "a URL `scheme://…`",
                example: r#"`"https://github.com/example/hello"`"#,
                why: "the `org.opencontainers.image.source` label",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[run]`",
        intro: "",
        keys: &[
            Key {
                name: "`replicas`",
                ty: "integer",
                default: "`1`",
                allowed: "0 or more",
                example: "`3`",
                why: "how many copies run (the starting point when `autoscale` is set)",
            },
            Key {
                name: "`driver`",
                ty: "string",
                default: r#"`"process"`"#,
                allowed: r#"`"process"`, `"container"`"#,
                example: r#"`"container"`"#,
                why: "how `hoist deploy` runs replicas on this machine: the binary with `$PORT`, or the image in dockerd/podman (each replica its own network namespace); Kubernetes ignores it",
            },
            Key {
                name: "`env`",
                ty: "table of strings",
                default: "`{}`",
                allowed: "keys `[A-Za-z_][A-Za-z0-9_]*`, not `PORT` (from `app.port`) nor `STATE_DIR` (from `run.state`); values strings (quote numbers)",
                example: r#"`{ LOG_LEVEL = "info" }`"#,
                why: "environment variables of the running service",
            },
            Key {
                name: "`health`",
                ty: "table",
                default: "readiness: a TCP connect to `app.port`; no liveness probe",
                allowed: "see [`run.health`](#runhealth)",
                example: r#"`{ path = "/healthz" }`"#,
                why: "readiness and liveness probes",
            },
            Key {
                name: "`rollout`",
                ty: "table",
                default: "see [`run.rollout`](#runrollout)",
                allowed: "see [`run.rollout`](#runrollout)",
                example: "`{ max_surge = 1, max_unavailable = 0 }`",
                why: "how an update replaces replicas",
            },
            Key {
                name: "`resources`",
                ty: "table",
                default: "no requests",
                allowed: "see [`run.resources`](#runresources)",
                example: r#"`{ cpu = "250m", memory = "128Mi" }`"#,
                why: "what each replica requests",
            },
            Key {
                name: "`autoscale`",
                ty: "table",
                default: "none (fixed `replicas`)",
                allowed: "see [`run.autoscale`](#runautoscale)",
                example: "`{ min = 3, max = 10, cpu_percent = 70 }`",
                why: "horizontal autoscaling on CPU",
            },
            Key {
                name: "`ingress`",
                ty: "table",
                default: "none",
                allowed: "see [`run.ingress`](#runingress)",
                example: r#"`{ host = "example.com" }`"#,
                why: "route HTTP from outside the cluster",
            },
            Key {
                name: "`termination_grace`",
                ty: "duration",
                default: r#"`"30s"`"#,
                allowed: r#"whole seconds, `"0s"` or more"#,
                example: r#"`"45s"`"#,
                why: "time a replica gets to stop after SIGTERM before SIGKILL",
            },
            Key {
                name: "`state`",
                ty: "string or table",
                default: "none",
                allowed: "an absolute path, or a table, see [`run.state`](#runstate)",
                example: r#"`"/data"`"#,
                why: "a directory the app writes that outlives replicas and updates",
            },
        ],
        outro: "On this machine (`hoist deploy` without Kubernetes) the agent uses `replicas`, `driver`, `env`,
`health`, `rollout`, `termination_grace` and `ingress.host`/`ingress.path`; `resources`,
`autoscale`, `ingress.tls_secret` and `ingress.class` only shape the Kubernetes manifests (the
local runtime neither limits CPU and memory nor autoscales).",
    },
    Section {
        title: "`run.health`",
        intro: r#"`health = { path = "/healthz" }` makes HTTP readiness **and** liveness probes on the app's port.
The same keys inside `health.readiness`, `health.liveness` or `health.startup` override the shared
ones for that probe only. A startup probe exists only when `health.startup` is given; it inherits
the shared keys. Without a readiness probe, a replica is ready once it accepts a TCP connection
on `app.port` — on this machine, and as the Deployment's `tcpSocket` readiness probe — so a
service that only listens gets traffic as soon as it can take it; there is no liveness probe. Each probe makes exactly one check:
`path`, `tcp = true` or `exec`. A table that gives one of these also replaces the inherited
check and its `port`."#,
        keys: &[
            Key {
                name: "`path`",
                ty: "string",
                default: "—",
                allowed: "starts with `/`, no spaces",
                example: r#"`"/healthz"`"#,
                why: "HTTP GET; 200–399 passes",
            },
            Key {
                name: "`tcp`",
                ty: "boolean",
                default: "—",
                allowed: "`true`",
                example: "`true`",
                why: "a TCP connect succeeds",
            },
            Key {
                name: "`exec`",
                ty: "array of strings",
                default: "—",
                allowed: "a non-empty command",
                example: r#"`["/hello", "-check"]`"#,
                why: "a command exits 0 inside the replica",
            },
            Key {
                name: "`port`",
                ty: "integer",
                default: "`app.port`",
                allowed: "`app.port`, the one port the container exposes (another port is an error); not with `exec`",
                example: "`8080`",
                why: "written out for clarity only",
            },
            Key {
                name: "`initial_delay`",
                ty: "duration",
                default: r#"`"0s"`"#,
                allowed: "whole seconds",
                example: r#"`"5s"`"#,
                why: "wait before the first check",
            },
            Key {
                name: "`period`",
                ty: "duration",
                default: r#"`"10s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"5s"`"#,
                why: "time between checks",
            },
            Key {
                name: "`timeout`",
                ty: "duration",
                default: r#"`"1s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"3s"`"#,
                why: "time one check may take",
            },
            Key {
                name: "`success_threshold`",
                ty: "integer",
                default: "`1`",
                allowed: "1 or more; must be 1 for liveness and startup (a Kubernetes rule)",
                example: "`2` (in `readiness`)",
                why: "successes in a row to count as passing",
            },
            Key {
                name: "`failure_threshold`",
                ty: "integer",
                default: "`3`",
                allowed: "1 or more",
                example: "`30` (in `startup`)",
                why: "failures in a row to count as failing",
            },
            Key {
                name: "`readiness`, `liveness`, `startup`",
                ty: "table",
                default: "—",
                allowed: "the keys above",
                example: "`startup = { failure_threshold = 30 }`",
                why: "override one probe",
            },
        ],
        outro: r#"```toml
[run.health]
path = "/healthz"
period = "5s"

[run.health.readiness]
path = "/ready"
success_threshold = 2

[run.health.startup]
failure_threshold = 30   # up to 30 × 5s to start
```"#,
    },
    Section {
        title: "`run.rollout`",
        intro: "",
        keys: &[
            Key {
                name: "`max_surge`",
                ty: "integer or percentage string",
                default: "`1`",
                allowed: r#"0 or more, or `"0%"`–`"100%"` (rounded up)"#,
                example: r#"`"25%"`"#,
                why: "replicas above the desired count during an update",
            },
            Key {
                name: "`max_unavailable`",
                ty: "integer or percentage string",
                default: "`0`",
                allowed: r#"0 or more, or `"0%"`–`"100%"` (rounded down)"#,
                example: "`1`",
                why: "replicas below the desired count during an update",
            },
            Key {
                name: "`deadline`",
                ty: "duration",
                default: r#"`"60s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"2m"`"#,
                why: "time for the new revision to become ready before it is rolled back",
            },
            Key {
                name: "`strategy`",
                ty: "string",
                default: r#"`"rolling"`"#,
                allowed: r#"`"rolling"`: replace replicas as the keys above say; `"canary"`: run the new revision beside the stable one and give it a growing share of the traffic while it holds its SLOs"#,
                example: r#"`"canary"`"#,
                why: "a revision that passes its probes can still answer errors or slowly",
            },
            Key {
                name: "`steps`",
                ty: "array of integers",
                default: "`[10, 50, 100]`",
                allowed: "percentages of the traffic, each 1–100, strictly increasing, at least one below 100; 100 is added when the list does not end with it",
                example: "`[5, 25, 50]`",
                why: "the canary's share at each step; each step below 100 is analysed, reaching 100 promotes (canary only)",
            },
            Key {
                name: "`interval`",
                ty: "duration",
                default: r#"`"10s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"30s"`"#,
                why: "how often the canary is compared with the stable revision (canary only)",
            },
            Key {
                name: "`min_sample`",
                ty: "integer",
                default: "`100`",
                allowed: "1 or more",
                example: "`500`",
                why: "requests each revision answers in a step before a verdict; fewer is \"inconclusive\", never a pass (canary only)",
            },
            Key {
                name: "`max_wait`",
                ty: "duration",
                default: r#"`"5m"` (at least `interval`)"#,
                allowed: "whole seconds, at least `interval`",
                example: r#"`"15m"`"#,
                why: "how long a step may stay inconclusive for want of traffic before the canary is rolled back (canary only)",
            },
            Key {
                name: "`sticky`",
                ty: "table",
                default: "none: each request is split on its own",
                allowed: "see [`run.rollout.sticky`](#runrolloutsticky)",
                example: r#"`{ cookie = "session" }`"#,
                why: "keep one user on one revision (canary only)",
            },
            Key {
                name: "`slo`",
                ty: "table",
                default: "see [`run.rollout.slo`](#runrolloutslo)",
                allowed: "see [`run.rollout.slo`](#runrolloutslo)",
                example: r#"`{ error_rate = "+0.5%", p99 = ["300ms", "1.5x"] }`"#,
                why: "what the canary must hold to be promoted (canary only)",
            },
            Key {
                name: "`synthetic`",
                ty: "table",
                default: "none: a step short of requests waits for real ones",
                allowed: "see [`run.rollout.synthetic`](#runrolloutsynthetic)",
                example: r#"`{ paths = ["/", "/healthz"], rate = "10/s" }`"#,
                why: "a canary with little real traffic still gets a verdict (canary only)",
            },
        ],
        outro: "`max_surge` and `max_unavailable` may not both come to 0 for the replica count (or
`autoscale.min`): such a rollout would never make progress. The canary keys (`steps` to
`synthetic`) need `strategy = \"canary\"`; given with a rolling update they are an error, not
ignored. A canary cannot be combined with a single-writer `run.state` (it runs two revisions at
once).

```toml
[run.rollout]
strategy = \"canary\"
steps = [5, 25, 50]          # then 100
interval = \"10s\"
min_sample = 200
sticky = { cookie = \"session\" }
slo = { error_rate = [\"1%\", \"+0.5%\"], p99 = [\"500ms\", \"+100ms\"] }
synthetic = { paths = [\"/\", \"/healthz\"], rate = \"20/s\" }
```

The agent (this machine, each host) judges a canary from its proxy's counters; on Kubernetes a
canary needs `[verify.prometheus]`.",
    },
    Section {
        title: "`run.rollout.sticky`",
        intro: "One key: the cookie or the request header whose value keeps a client on one revision (its
hash decides the side of the split, so the same value always lands on the same revision; a
request without it is split on its own).",
        keys: &[
            Key {
                name: "`cookie`",
                ty: "string",
                default: "—",
                allowed: "a cookie name (an HTTP token)",
                example: r#"`"session"`"#,
                why: "users identified by a session cookie",
            },
            Key {
                name: "`header`",
                ty: "string",
                default: "—",
                allowed: "a header name (an HTTP token; case does not matter)",
                example: r#"`"X-User-Id"`"#,
                why: "clients identified by a header",
            },
        ],
        outro: "",
    },
    Section {
        title: "`run.rollout.synthetic`",
        intro: r"Requests the agent sends itself while a canary step has too few requests for a verdict
(Flagger's load-tester webhook, built in). Each revision short of its sample in the step — fewer
than `min_sample` requests, or a stable revision whose p99 cannot be bounded yet — gets `rate`
GET requests to `paths`, in turn, sent straight to its ready replicas (so the canary gets its
sample at a 5% step as fast as at 50%), with `User-Agent: hoist-synthetic` and
`X-Hoist-Synthetic: 1`. They are counted in that revision's figures like requests through the
proxy (a 5xx or no answer within 10s is an error; `[verify.chaos]` faults apply to them), so a
broken path fails the canary. Sending stops once the revision has its sample, when the step ends
(the next step needs its own), when the canary is promoted or rolled back, and when the agent
stops. `hoist status` and `hoist history` say how many of each step's requests were synthetic.
Canary only; the agent only (on Kubernetes, run a load tester).",
        keys: &[
            Key {
                name: "`paths`",
                ty: "array of strings",
                default: "— (required)",
                allowed: "at least one; each starts with one `/`, visible ASCII without `#` (a query is fine)",
                example: r#"`["/", "/api/items?limit=1"]`"#,
                why: "what the requests ask for, as the app sees it (the proxy passes paths on unchanged)",
            },
            Key {
                name: "`rate`",
                ty: "string",
                default: r#"`"10/s"`"#,
                allowed: r#"`"N/s"` or `"N/m"`, N a whole number from 1, at most 1000 a second"#,
                example: r#"`"30/m"`"#,
                why: "requests each revision short of its sample gets; 10/s gives the default `min_sample` in the default `interval`",
            },
        ],
        outro: "",
    },
    Section {
        title: "`run.rollout.slo`",
        intro: "What a canary must hold, each SLO as one bound or an array of an absolute and a relative
one. The form of the string says which: a relative bound compares the canary with the stable
revision measured over the same interval, so a slow or noisy app is held to itself.

| key | absolute | relative to the stable revision |
|---|---|---|
| `error_rate` | `\"1%\"`: at most 1% of requests | `\"+0.5%\"`: at most 0.5 percentage points above the stable revision's rate |
| `p50`, `p99` | `\"300ms\"` | `\"1.5x\"`: at most 1.5 times the stable revision's; `\"+50ms\"`: at most 50 ms above it |

A bound without a unit (`p99 = \"300\"`, `error_rate = 1`) is an error. A key not given keeps its
default; `[]` switches that SLO off; switching every SLO off is an error.

Each step is judged on its own requests (at least `min_sample` per revision). A relative p99
also needs the stable revision's p99 bounded from above, which takes about 700 of its answers
in the step; until then the step is \"inconclusive\" (it waits, up to `max_wait`), never passed.
A breach of another SLO fails the canary at once all the same.",
        keys: &[
            Key {
                name: "`error_rate`",
                ty: "string or array of strings",
                default: r#"`"+1%"`"#,
                allowed: r#"`"P%"` and/or `"+P%"`, P from 0 to 100 (decimals allowed)"#,
                example: r#"`["1%", "+0.5%"]`"#,
                why: "share of requests answered 5xx or not answered at all (connection failures)",
            },
            Key {
                name: "`p50`",
                ty: "string or array of strings",
                default: "`[]` (off)",
                allowed: r#"a duration (`"300ms"`) and/or `"Rx"` (R at least 1) or `"+DURATION"`"#,
                example: r#"`"1.2x"`"#,
                why: "median latency (to the response head)",
            },
            Key {
                name: "`p99`",
                ty: "string or array of strings",
                default: r#"`"+100ms"`"#,
                allowed: "as `p50`",
                example: r#"`["500ms", "1.5x"]`"#,
                why: "99th percentile latency; additive by default, since a ratio on a millisecond-fast service fails on scheduling jitter",
            },
        ],
        outro: "",
    },
    Section {
        title: "`run.resources`",
        intro: "",
        keys: &[
            Key {
                name: "`cpu`",
                ty: "string (or number)",
                default: "none",
                allowed: r#"cores `"1"`, `"0.5"` or millicores `"250m"`; whole millicores (not `"1.5m"` or `"0.0005"`: Kubernetes' precision is 1m)"#,
                example: r#"`"250m"`"#,
                why: "CPU request per replica; the base of `autoscale.cpu_percent`",
            },
            Key {
                name: "`memory`",
                ty: "string (or integer)",
                default: "none",
                allowed: "a number with `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`, `k`, `M`, `G`, `T`, `P`, `E` or an exponent (`1e3`); not `MB`; more than 0",
                example: r#"`"128Mi"`"#,
                why: "memory request and limit per replica",
            },
        ],
        outro: "",
    },
    Section {
        title: "`run.autoscale`",
        intro: "",
        keys: &[
            Key {
                name: "`min`",
                ty: "integer",
                default: "`1`",
                allowed: "1 or more",
                example: "`3`",
                why: "fewest replicas",
            },
            Key {
                name: "`max`",
                ty: "integer",
                default: "**required** in `autoscale`",
                allowed: "at least `min`",
                example: "`10`",
                why: "most replicas",
            },
            Key {
                name: "`cpu_percent`",
                ty: "integer",
                default: "`80`",
                allowed: "1–100",
                example: "`70`",
                why: "target average CPU use, in percent of `resources.cpu`",
            },
        ],
        outro: "`autoscale` needs a CPU request (`run.resources.cpu`, more than 0): the autoscaler measures CPU
use as a percentage of it.",
    },
    Section {
        title: "`run.ingress`",
        intro: "",
        keys: &[
            Key {
                name: "`host`",
                ty: "string",
                default: "none (any host)",
                allowed: "a lowercase DNS name, optionally `*.` first",
                example: r#"`"hello.example.com"`, `"*.example.com"`"#,
                why: "the Host to route",
            },
            Key {
                name: "`path`",
                ty: "string",
                default: r#"`"/"`"#,
                allowed: "starts with `/`, no spaces",
                example: r#"`"/api"`"#,
                why: "the path prefix to route",
            },
            Key {
                name: "`tls_secret`",
                ty: "string",
                default: "none (no TLS)",
                allowed: "a Kubernetes name (lowercase DNS subdomain)",
                example: r#"`"hello-tls"`"#,
                why: "the Secret with the TLS certificate",
            },
            Key {
                name: "`class`",
                ty: "string",
                default: "the cluster's default",
                allowed: "a Kubernetes name",
                example: r#"`"nginx"`"#,
                why: "the `ingressClassName`",
            },
        ],
        outro: "",
    },
    Section {
        title: "`run.state`",
        intro: r#"A directory the app writes — a SQLite database, uploads — that survives restarts and rolling
updates. The app finds it at `path`, also given as `$STATE_DIR` (and `$(STATE_DIR)` in `app.args`):

- on this machine, the process driver keeps it under the agent's state directory, with the app's
  binary beside it as in the image (`/app/<name>`, working directory `/app`), so an app that
  writes next to its binary (pocketbase's `pb_data`) finds its data again; the container driver
  mounts a named volume of the engine there;
- on Kubernetes, a PersistentVolumeClaim `<app>-state` (ReadWriteOnce, `size`) is mounted there,
  writable by the nonroot group (`fsGroup: 65532`). hoist never prunes a claim: removing
  `run.state` does not delete the data.

`state = "/data"` is short for `state = { path = "/data" }`. The image has the directory, owned by
the nonroot user, so a new volume starts out writable."#,
        keys: &[
            Key {
                name: "`path`",
                ty: "string",
                default: "**required**",
                allowed: "absolute, plain (no `.`, `..`, `//`); not `/`, `/app`, nor below `/etc`, `/proc`, `/sys`, `/dev`, `/tmp`, `/bin`",
                example: r#"`"/data"`, `"/app/pb_data"`"#,
                why: "where the app sees the directory",
            },
            Key {
                name: "`writers`",
                ty: "string",
                default: r#"`"one"`"#,
                allowed: r#"`"one"`: one process owns it (SQLite, bbolt): one replica, no autoscaler; `"many"`: the app coordinates its writers: replicas and updates as `run.rollout` says"#,
                example: r#"`"many"`"#,
                why: "two processes writing one SQLite file, or one bbolt file held by a lock, break",
            },
            Key {
                name: "`update`",
                ty: "string",
                default: r#"`"recreate"`"#,
                allowed: r#"with one writer: `"recreate"`: the old replica stops before the new one starts (never two writers; no replica is ready for a moment, during which the proxy holds requests until the new one is ready, and the gap is reported); Kubernetes' `Recreate` strategy. `"overlap"`: the new replica starts while the old one serves, both open the directory until the old one is drained (for storage two processes may share, like SQLite in WAL mode); a rolling update with surge 1"#,
                example: r#"`"overlap"`"#,
                why: "how a new revision takes the directory over; `run.rollout.max_surge`/`max_unavailable` follow from it",
            },
            Key {
                name: "`size`",
                ty: "string",
                default: r#"`"1Gi"`"#,
                allowed: r#"a memory-style quantity, like `"512Mi"` or `"10Gi"`"#,
                example: r#"`"10Gi"`"#,
                why: "the PersistentVolumeClaim's storage request on Kubernetes",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[config]`",
        intro: r#"A table of string values, rendered into the app's ConfigMap. Keys are 1–253 letters, digits,
`-`, `.` and `_`; quote keys with dots.

```toml
[config]
"app.properties" = "greeting=hello"
FEATURE_FLAGS = "beta=false"
```"#,
        keys: &[],
        outro: "",
    },
    Section {
        title: "`[verify.chaos]`",
        intro: r#"Faults the agent injects into a canary (`run.rollout.strategy = "canary"`) while one of its
steps runs, and removes when the step ends, so the step's verdict says whether the new revision
holds its SLOs under them. The same faults as `hoist chaos` (see docs/local.md); this machine's
agent only. At least one fault; the table without a canary strategy is an error."#,
        keys: &[
            Key {
                name: "`step`",
                ty: "integer",
                default: "`1`",
                allowed: "1 to the number of steps below 100%",
                example: "`2`",
                why: "the step whose analysis runs under the faults",
            },
            Key {
                name: "`kill`",
                ty: "boolean",
                default: "`false`",
                allowed: "`true`, `false`",
                example: "`true`",
                why: "kill -9 one canary replica as the step begins (the agent restarts it; the proxy retries)",
            },
            Key {
                name: "`latency`",
                ty: "duration",
                default: "none",
                allowed: "a duration",
                example: r#"`"200ms"`"#,
                why: "added by the proxy to each of the canary's requests",
            },
            Key {
                name: "`abort`",
                ty: "string",
                default: "none",
                allowed: r#"`"P%"` or `"P%:STATUS"`, P from 1 to 100, STATUS 400–599 (default 503)"#,
                example: r#"`"5%:500"`"#,
                why: "that share of the canary's requests answered by the proxy with an error",
            },
            Key {
                name: "`reset`",
                ty: "string",
                default: "none",
                allowed: r#"`"P%"`; with `abort`, at most 100% together"#,
                example: r#"`"2%"`"#,
                why: "that share of the canary's client connections closed without an answer",
            },
            Key {
                name: "`cpu`",
                ty: "string",
                default: "none",
                allowed: r#"`"P%"`, P from 1 to 95"#,
                example: r#"`"50%"`"#,
                why: "the canary's replicas paused that share of every 100 ms, as CPU pressure would (process driver)",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[verify.prometheus]`",
        intro: r#"Where a canary (`run.rollout.strategy = "canary"`) on Kubernetes gets its figures: each
`run.rollout.interval`, hoist runs these PromQL templates as instant queries
(`/api/v1/query`) for the canary's and the stable revision over the time since the canary began,
and judges them exactly as the local agent judges its proxy's counters (see docs/kubernetes.md).
The templates' placeholders are `{app}` (`app.name`), `{revision}` (the hoist revision, the pod
label `hoist.dev/revision`), `{window}` (a PromQL duration such as `45s`) and `{namespace}`;
every template must use `{revision}`. The defaults read the metrics hoist's own proxy exports
(`hoist_proxy_*` at the agent's admin address), so with those only `url` is needed. No series
for `requests` is "inconclusive", never a pass; no series for `errors` is 0 errors. The table
without a canary strategy is an error; this machine's agent ignores it (it reads its proxy)."#,
        keys: &[
            Key {
                name: "`url`",
                ty: "string",
                default: "none (required)",
                allowed: "an `http://` or `https://` URL without credentials; TLS certificates are verified",
                example: r#"`"http://prometheus.monitoring:9090"`"#,
                why: "the Prometheus server (or anything serving its HTTP query API)",
            },
            Key {
                name: "`requests`",
                ty: "string",
                default: "the proxy's `hoist_proxy_requests_total` plus `hoist_proxy_failed_attempts_total`, by `app` and `revision`, `increase` over `{window}`",
                allowed: "PromQL giving one number",
                example: r#"`"sum(increase(http_requests_total{app=\"{app}\",revision=\"{revision}\"}[{window}]))"`"#,
                why: "requests one revision received over the window",
            },
            Key {
                name: "`errors`",
                ty: "string",
                default: "the proxy's 5xx answers (`code=~\"5..\"`) plus its failed attempts",
                allowed: "PromQL giving one number",
                example: r#"`"sum(increase(http_requests_total{app=\"{app}\",revision=\"{revision}\",code=~\"5..\"}[{window}]))"`"#,
                why: "of those, the ones that failed",
            },
            Key {
                name: "`latency`",
                ty: "string",
                default: "`sum by (le) (increase(hoist_proxy_request_duration_seconds_bucket{…}[{window}]))`",
                allowed: "PromQL giving one series per `le` bucket (seconds, cumulative counts)",
                example: r#"`"sum by (le) (increase(http_request_duration_seconds_bucket{revision=\"{revision}\"}[{window}]))"`"#,
                why: "the latency histogram hoist takes p50 and p99 from (spread linearly within each bucket, as `histogram_quantile` does)",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[dapr]`",
        intro: r#"Runs the app with a [Dapr](https://dapr.io) sidecar: `hoist render` adds the pod annotations
`dapr.io/enabled: "true"`, `dapr.io/app-id` and `dapr.io/app-port` (`app.port`), which Dapr's
injector acts on. Without the table, no Dapr."#,
        keys: &[
            Key {
                name: "`enabled`",
                ty: "boolean",
                default: "`true` when the table is given",
                allowed: "`true`, `false`",
                example: "`false` (in `[environments.dev]`)",
                why: "turn the sidecar off in one environment",
            },
            Key {
                name: "`app_id`",
                ty: "string",
                default: "`app.name`",
                allowed: "a DNS label",
                example: r#"`"shop-api"`"#,
                why: "the Dapr app id other services call",
            },
        ],
        outro: "",
    },
    Section {
        title: "`[kubernetes]`",
        intro: "Where `hoist deploy` sends the app when it targets Kubernetes. Its presence makes
`--target kubernetes` the default of `deploy`, `status`, `history` and `rollback`; without it
they target this machine. Like every table it can be given per environment
(`[environments.prod.kubernetes]`), so `dev` can stay local while `prod` goes to clusters.",
        keys: &[
            Key {
                name: "`contexts`",
                ty: "array of strings",
                default: "`[]`: the kubeconfig's `current-context`",
                allowed: "kubeconfig context names, non-empty, no duplicates",
                example: r#"`["eu", "us"]`"#,
                why: "the clusters to deploy to, several at once (`--parallel`); `--context` flags replace the list",
            },
            Key {
                name: "`namespace`",
                ty: "string",
                default: "the context's namespace, else `default`",
                allowed: "a DNS label",
                example: r#"`"shop"`"#,
                why: "where the app's objects and revision records go; `-n` overrides it",
            },
            Key {
                name: "`create_namespace`",
                ty: "boolean",
                default: "`false`",
                allowed: "`true`, `false`",
                example: "`true`",
                why: "create the namespace when it does not exist (as `--create-namespace`); without it a missing namespace is an error",
            },
            Key {
                name: "`history_limit`",
                ty: "integer",
                default: "`10`",
                allowed: "1–100",
                example: "`20`",
                why: "revision records kept per app instance and namespace (the serving revision is always kept); `history` and `rollback --to` see these",
            },
        ],
        outro: r#"```toml
[environments.prod.kubernetes]
contexts = ["eu", "us"]
namespace = "shop"
create_namespace = true
```"#,
    },
    Section {
        title: "`[hosts]`",
        intro: "Your own servers, reached over SSH with your own OpenSSH (`hoist hosts check`, `hoist hosts
setup`; see docs/hosts.md). Every value is what `ssh` would be given, so `~/.ssh/config` aliases,
`ProxyJump`, the SSH agent and `known_hosts` keep working; a value left out is left to that
config. Host keys are checked strictly: an unknown or changed key is refused. Like every table it
can be given per environment (`[environments.prod.hosts]`).",
        keys: &[
            Key {
                name: "`targets`",
                ty: "array of strings",
                default: "`[]`: no hosts",
                allowed: "`[user@]host[:port]` (an IPv6 address in brackets when it has a port) or a `~/.ssh/config` alias; not starting with `-`; no duplicates",
                example: r#"`["deploy@10.0.0.5", "edge-1"]`"#,
                why: "the servers to check, bootstrap and (later) deploy to, in this order",
            },
            Key {
                name: "`user`",
                ty: "string",
                default: "ssh's (its config, else your login name)",
                allowed: "a login name without `@`, `:`, spaces or a leading `-`",
                example: r#"`"deploy"`"#,
                why: "the login of targets that do not name one (`ssh -l`)",
            },
            Key {
                name: "`port`",
                ty: "integer",
                default: "ssh's (its config, else 22)",
                allowed: "1–65535",
                example: "`2222`",
                why: "the SSH port of targets that do not name one (`ssh -p`)",
            },
            Key {
                name: "`identity`",
                ty: "string",
                default: "ssh's identities and agent",
                allowed: "a private key file's path (`~/` is your home); hoist passes the path to ssh and never reads the key",
                example: r#"`"~/.ssh/deploy_ed25519"`"#,
                why: "the key to log in with (`ssh -i`, with `IdentitiesOnly=yes`)",
            },
            Key {
                name: "`parallel`",
                ty: "integer or string",
                default: "`1`",
                allowed: r#"1 or more, or a percentage `"1%"`–`"100%"` of the targets (rounded up)"#,
                example: r#"`"25%"`"#,
                why: "how many hosts a deploy wave updates at once",
            },
            Key {
                name: "`http`",
                ty: "string",
                default: "the agent's own, `127.0.0.1:8080` (nothing public)",
                allowed: r#"`":PORT"` (every address) or `"IP:PORT"`"#,
                example: r#"`":80"`"#,
                why: "where each host's proxy serves plain HTTP (and answers ACME's HTTP-01 challenges); ports below 1024 need `sysctl net.ipv4.ip_unprivileged_port_start=80` on the host, or root",
            },
            Key {
                name: "`https`",
                ty: "string",
                default: "none: no HTTPS",
                allowed: r#"`":PORT"` or `"IP:PORT"`; needs `tls_cert`/`tls_key` or `domains`"#,
                example: r#"`":443"`"#,
                why: "where each host's proxy serves HTTPS (HTTP/2 and HTTP/1.1); plain HTTP then redirects to it",
            },
            Key {
                name: "`tls_cert`, `tls_key`",
                ty: "string",
                default: "none",
                allowed: "PEM files on this machine (relative to hoist.toml, `~/` is your home), both or neither; not with `domains`",
                example: r#"`"certs/fullchain.pem"`, `"certs/key.pem"`"#,
                why: "your own certificate: sent to each host's state directory (mode 0600, through the SSH connection, never printed); a changed file restarts the hosts' agents with it",
            },
            Key {
                name: "`domains`",
                ty: "array of strings",
                default: "none",
                allowed: "DNS names, no wildcards; `{host}` stands for the target's host name",
                example: r#"`["{host}.example.com"]`"#,
                why: "get each host's certificate from an ACME CA (Let's Encrypt) over HTTP-01: the names must reach that host's `http` on port 80; renewed by the host's agent when a third of its lifetime is left",
            },
            Key {
                name: "`acme_email`",
                ty: "string",
                default: "none",
                allowed: "an email address; needs `domains`",
                example: r#"`"ops@example.com"`"#,
                why: "the ACME account's contact (the CA's expiry notices)",
            },
            Key {
                name: "`acme_directory`",
                ty: "string",
                default: "Let's Encrypt's production CA",
                allowed: "an `https://` directory URL; needs `domains`",
                example: r#"`"https://acme-staging-v02.api.letsencrypt.org/directory"`"#,
                why: "another ACME CA, or Let's Encrypt's staging one while trying things out",
            },
            Key {
                name: "`acme_ca`",
                ty: "string",
                default: "the host's system roots",
                allowed: "a PEM root certificate on this machine; needs `domains`",
                example: r#"`"pebble.minica.pem"`"#,
                why: "trust a test CA's own HTTPS endpoint (Pebble); sent to the hosts",
            },
            Key {
                name: "`engine`",
                ty: "string",
                default: "each host agent's `DOCKER_HOST`, else `unix:///var/run/docker.sock`",
                allowed: "`unix:///PATH`, a path starting `$HOME/` or `$XDG_RUNTIME_DIR/` (each host's own), or `tcp://HOST:PORT`",
                example: r#"`"unix://$XDG_RUNTIME_DIR/podman/podman.sock"`"#,
                why: "the Docker-API engine (dockerd, `podman system service`) each host runs replicas in with `run.driver = \"container\"`; the image's layers go to the host by content address, only the missing ones, and are loaded there: no registry",
            },
        ],
        outro: r#"```toml
[hosts]
user = "deploy"
http = ":80"
https = ":443"
domains = ["{host}.example.com"]
acme_email = "ops@example.com"

[environments.prod.hosts]
targets = ["10.0.0.5", "10.0.0.6", "edge-1"]
parallel = "50%"
```"#,
    },
    Section {
        title: "`[ci]`",
        intro: "What `hoist ci github` and `hoist ci gitlab` write into the pipeline. Every step that matters
is a hoist command, so this table says only which pushes deploy where, where deploy jobs run and
which checks come first. It belongs to the file, not to an environment (an overlay cannot say
which refs deploy it). Without it the pipeline tests and builds every change and deploys nothing.",
        keys: &[
            Key {
                name: "`deploy`",
                ty: "table of strings",
                default: "`{}`: nothing deploys",
                allowed: "keys: a branch name (`main`) or a tag prefix ending in `*` (`v*`); values: environments the file defines",
                example: r#"`{ main = "staging", "v*" = "prod" }`"#,
                why: "a push to the branch (or of a matching tag: the longest prefix wins) runs `hoist build --push` and `hoist deploy --env ENV`; the environment's `[kubernetes]` decides whether that is a cluster or the runner's own agent",
            },
            Key {
                name: "`runs_on`",
                ty: "array of strings",
                default: r#"`["ubuntu-latest"]`"#,
                allowed: "runner labels, non-empty",
                example: r#"`["self-hosted", "linux"]`"#,
                why: "where deploy jobs run: a self-hosted runner's labels to deploy with its local agent (GitHub `runs-on`, GitLab `tags`)",
            },
            Key {
                name: "`test`",
                ty: "array of strings",
                default: r#"`["go vet ./...", "go test ./..."]`"#,
                allowed: "shell commands, non-empty",
                example: r#"`["go test -race ./..."]`"#,
                why: "the checks every pull request and push runs before `hoist build`",
            },
        ],
        outro: r#"```toml
[ci]
deploy = { main = "staging", "v*" = "prod" }

[environments.staging]
run.replicas = 2

[environments.prod.kubernetes]
namespace = "shop"
```"#,
    },
    Section {
        title: "Durations",
        intro: r#"Durations are strings: a number and a unit, and several of them in a row: `"500ms"`, `"10s"`,
`"5m"`, `"1h"`, `"1m30s"` (units `h`, `m`, `s`, `ms`, `us`, `ns`). A bare number such as `30` is
an error: write `"30s"`. Probe times, `termination_grace` and `rollout.deadline` are whole
seconds, as Kubernetes counts them. `hoist config` prints durations in seconds (`"90s"`)."#,
        keys: &[],
        outro: "",
    },
    Section {
        title: "Environments and `--env`",
        intro: r#"`[environments.NAME]` tables hold overlays: any of `app`, `build`, `image`, `run`, `config`, `dapr`, `kubernetes` and `hosts`,
laid over the rest of the file when a command runs with `--env NAME`:

- a key the overlay gives replaces the base's value;
- tables merge key by key, at any depth: `run.replicas = 5` changes only `replicas`,
  `run.env = { LOG_LEVEL = "debug" }` changes one variable and keeps the others,
  `[environments.prod.run.health]` merges into `run.health`;
- arrays are values, replaced whole (`image.tags = ["semver"]`);
- a probe check given in an overlay (`path`, `tcp` or `exec`) replaces the base's check and port.

Environment names are DNS labels (`dev`, `prod`, `eu-west`). Without `--env`, no overlay is
applied. An unknown name is an error that lists the environments the file defines. Every
environment is validated on every load, so a mistake in `[environments.prod]` shows up in
development, and errors in an overlay point at the overlay's own lines:

```text
hoist.toml:21:16: environments.prod.run.replicas: must be 0 or more, found -5
```

```toml
[environments.dev]
run.replicas = 1
run.env = { LOG_LEVEL = "debug" }

[environments.prod]
run.replicas = 5
image.tags = ["semver", "sha"]

[environments.prod.run.health.startup]
failure_threshold = 30
```


`--set KEY.PATH=VALUE` (repeatable, on `hoist config`, `build`, `render`, `deploy` and `diff`) overrides one value
after the overlay, like `helm --set`: `--set run.replicas=5`, `--set run.env.LOG_LEVEL=debug`,
`--set 'image.tags=["sha"]'`, `--set 'config."app.properties"=a=1'`. The key is a dotted TOML
key, checked like one in the file; the value is TOML when it parses as TOML and fits the key
(`5`, `true`, `["a"]`, `"quoted"`), else a plain string (`on`, `2024-05-01`, `250m` need no
quotes). Later flags win. Errors name the flag and point into it:

```text
--set run.replicas=-1:1:14: run.replicas: must be 0 or more, found -1
```"#,
        keys: &[],
        outro: "",
    },
];

/// The reference as Markdown: what `docs/config.md` holds.
pub fn reference_markdown() -> String {
    let mut out = String::from(
        "<!-- Generated by `hoist docs config` from crates/hoist-config/src/reference.rs; a test fails when this file is stale. -->\n\n# hoist.toml reference\n\n",
    );
    out.push_str(INTRO);
    out.push('\n');
    for s in SECTIONS {
        let _ = write!(out, "\n## {}\n\n", s.title);
        if !s.intro.is_empty() {
            out.push_str(s.intro);
            out.push_str("\n\n");
        }
        if !s.keys.is_empty() {
            out.push_str(
                "| key | type | default | allowed | example | why |\n|---|---|---|---|---|---|\n",
            );
            for k in s.keys {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    k.name, k.ty, k.default, k.allowed, k.example, k.why
                );
            }
            out.push('\n');
        }
        if !s.outro.is_empty() {
            out.push_str(s.outro);
            out.push_str("\n\n");
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// The documented keys, as `(table, key)`, from the section titles and the backticked names
/// in each key cell.
#[cfg(test)]
fn documented_keys() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in SECTIONS.iter().filter(|s| !s.keys.is_empty()) {
        let table = s.title.trim_matches(['`', '[', ']']);
        for k in s.keys {
            for name in k.name.split('`').skip(1).step_by(2) {
                out.push((table.to_owned(), name.to_owned()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_key_the_parser_accepts_is_documented_and_no_other() {
        let accepted: BTreeSet<(String, String)> = crate::parse::accepted_keys()
            .into_iter()
            .map(|(t, k)| (t.to_owned(), k.to_owned()))
            .collect();
        let documented: BTreeSet<(String, String)> = documented_keys().into_iter().collect();
        let missing: Vec<_> = accepted.difference(&documented).collect();
        let extra: Vec<_> = documented.difference(&accepted).collect();
        assert!(missing.is_empty(), "not documented: {missing:?}");
        assert!(extra.is_empty(), "documented but not accepted: {extra:?}");
    }

    #[test]
    fn every_table_row_has_six_cells() {
        for s in SECTIONS {
            for k in s.keys {
                for cell in [k.name, k.ty, k.default, k.allowed, k.example, k.why] {
                    assert!(
                        !cell.is_empty() && !cell.contains(" | "),
                        "{}: {cell}",
                        s.title
                    );
                }
            }
        }
    }
}

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
    key: &'static str,
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
        title: r#"`[app]`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`name`"#,
                ty: r#"string"#,
                default: r#"**required**"#,
                allowed: r#"1–63 lowercase letters, digits and `-`; starts with a letter, ends with a letter or digit"#,
                example: r#"`"hello"`"#,
                why: r#"names the binary, the image and every Kubernetes object (the Service needs the leading letter)"#,
            },
            Key {
                key: r#"`main`"#,
                ty: r#"string"#,
                default: r#"`"."`"#,
                allowed: r#"`.` or a package directory starting with `./`, without `..`"#,
                example: r#"`"./cmd/server"`"#,
                why: r#"the Go package with `func main`, relative to the directory of hoist.toml (where `go build` runs)"#,
            },
            Key {
                key: r#"`port`"#,
                ty: r#"integer"#,
                default: r#"`8080`"#,
                allowed: r#"1–65535"#,
                example: r#"`3000`"#,
                why: r#"the port the service listens on; exposed in the image, used by probes and the Service"#,
            },
            Key {
                key: r#"`args`"#,
                ty: r#"array of strings"#,
                default: r#"`[]`"#,
                allowed: r#"any; `$(NAME)` is expanded as Kubernetes does: `$(PORT)` is the replica's port, other names come from `run.env` (and `$(STATE_DIR)`), `$$` is a literal `$`, unknown names stay as written (with a warning)"#,
                example: r#"`["serve", "--http=0.0.0.0:$(PORT)"]`"#,
                why: r#"arguments passed to the binary after the entrypoint; most Go services take their address as a flag"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`[build]`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`platforms`"#,
                ty: r#"array of strings"#,
                default: r#"`["linux/amd64"]`"#,
                allowed: r#"`os/arch` or `os/arch/variant`; os `linux`; arch `amd64`, `arm64`, `arm`, `386`, `ppc64le`, `s390x`, `riscv64`; variant `v5`–`v7` for arm, `v8` for arm64; at least one, no duplicates"#,
                example: r#"`["linux/amd64", "linux/arm64"]`"#,
                why: r#"several platforms produce a multi-platform image index"#,
            },
            Key {
                key: r#"`base`"#,
                ty: r#"string"#,
                default: r#"`"static"`"#,
                allowed: r#"`"static"`, `"scratch"`, or an image reference (contains `/` or `:`)"#,
                example: r#"`"gcr.io/distroless/static:nonroot"`"#,
                why: r#"what the app layer sits on: `static` is made by hoist (CA certificates, nonroot user 65532, `/tmp`), `scratch` is empty, an image reference is pulled from its registry (per platform; its layers kept as they are, its `Env` and `User` kept; see "Bases" under `hoist build`)"#,
            },
            Key {
                key: r#"`tags`"#,
                ty: r#"array of strings"#,
                default: r#"`[]`"#,
                allowed: r#"Go build tags: letters, digits, `_`, `.`, starting with a letter or `_`"#,
                example: r#"`["netgo", "osusergo"]`"#,
                why: r#"passed to `go build -tags`"#,
            },
            Key {
                key: r#"`ldflags`"#,
                ty: r#"array of strings"#,
                default: r#"`[]`"#,
                allowed: r#"any"#,
                example: r#"`["-extldflags", "-static"]`"#,
                why: r#"appended after hoist's own `-ldflags`"#,
            },
            Key {
                key: r#"`version_var`"#,
                ty: r#"string"#,
                default: r#"`"main.version"`"#,
                allowed: r#"`importpath.Name`"#,
                example: r#"`"example.com/hello/internal/build.Version"`"#,
                why: r#"the Go variable hoist sets (`-X`) to the version"#,
            },
            Key {
                key: r#"`commit_var`"#,
                ty: r#"string"#,
                default: r#"`"main.commit"`"#,
                allowed: r#"`importpath.Name`"#,
                example: r#"`"example.com/hello/internal/build.Commit"`"#,
                why: r#"the Go variable hoist sets (`-X`) to the full commit hash"#,
            },
            Key {
                key: r#"`cgo`"#,
                ty: r#"boolean"#,
                default: r#"unset: built with `CGO_ENABLED=0`; a program whose dependencies need cgo is refused, naming them"#,
                allowed: r#"`true`: build with cgo for this machine's platform only and put the shared libraries the binary links (found through the ELF's interpreter and `DT_NEEDED` entries, from this machine) into the image; `false`: build without cgo and skip the check"#,
                example: r#"`true`"#,
                why: r#"`github.com/mattn/go-sqlite3` and friends compile C; a static build of them gives a program that fails when it starts"#,
            },
            Key {
                key: r#"`env`"#,
                ty: r#"table of strings"#,
                default: r#"`{}`"#,
                allowed: r#"environment variable names; not `CGO_ENABLED` (`build.cgo`), `GOOS`, `GOARCH`, `GOARM` (`build.platforms`)"#,
                example: r#"`{ GOEXPERIMENT = "greenteagc", GOAMD64 = "v3" }`"#,
                why: r#"extra environment of `go build`; the user's own `GOFLAGS`, `GOPRIVATE`, `GOPROXY` and `~/.netrc` apply as for any `go build` and never reach the image or hoist's output"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`[image]`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`repository`"#,
                ty: r#"string"#,
                default: r#"none (build only, no push)"#,
                allowed: r#"a lowercase repository `[registry[:port]/]path`, without tag or digest"#,
                example: r#"`"registry.example.com/group/hello"`, `"localhost:5000/hello"`"#,
                why: r#"where `hoist push` and `hoist deploy` send the image"#,
            },
            Key {
                key: r#"`tags`"#,
                ty: r#"array of strings"#,
                default: r#"`["latest", "sha", "semver"]`"#,
                allowed: r#"`"latest"` (default branch, clean tree), `"sha"` (`sha-<12 hex>`, `-dirty` for a dirty tree), `"semver"` (`vX.Y.Z`, `vX.Y`, `vX` from a git tag on HEAD); no duplicates; `[]` pushes by digest only"#,
                example: r#"`["semver", "sha"]`"#,
                why: r#"which tags a push writes"#,
            },
            Key {
                key: r#"`labels`"#,
                ty: r#"table of strings"#,
                default: r#"`{}`"#,
                allowed: r#"non-empty keys without spaces"#,
                example: r#"`{ "org.example.team" = "web" }`"#,
                why: r#"extra OCI config labels, beside hoist's own `org.opencontainers.image.*`"#,
            },
            Key {
                key: r#"`source`"#,
                ty: r#"string"#,
                default: r#"git's `origin` remote, if any"#,
                allowed: r#"a URL `scheme://…`"#,
                example: r#"`"https://github.com/example/hello"`"#,
                why: r#"the `org.opencontainers.image.source` label"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`[run]`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`replicas`"#,
                ty: r#"integer"#,
                default: r#"`1`"#,
                allowed: r#"0 or more"#,
                example: r#"`3`"#,
                why: r#"how many copies run (the starting point when `autoscale` is set)"#,
            },
            Key {
                key: r#"`driver`"#,
                ty: r#"string"#,
                default: r#"`"process"`"#,
                allowed: r#"`"process"`, `"container"`"#,
                example: r#"`"container"`"#,
                why: r#"how `hoist deploy` runs replicas on this machine: the binary with `$PORT`, or the image in dockerd/podman (each replica its own network namespace); Kubernetes ignores it"#,
            },
            Key {
                key: r#"`env`"#,
                ty: r#"table of strings"#,
                default: r#"`{}`"#,
                allowed: r#"keys `[A-Za-z_][A-Za-z0-9_]*`, not `PORT` (from `app.port`) nor `STATE_DIR` (from `run.state`); values strings (quote numbers)"#,
                example: r#"`{ LOG_LEVEL = "info" }`"#,
                why: r#"environment variables of the running service"#,
            },
            Key {
                key: r#"`health`"#,
                ty: r#"table"#,
                default: r#"readiness: a TCP connect to `app.port`; no liveness probe"#,
                allowed: r#"see [`run.health`](#runhealth)"#,
                example: r#"`{ path = "/healthz" }`"#,
                why: r#"readiness and liveness probes"#,
            },
            Key {
                key: r#"`rollout`"#,
                ty: r#"table"#,
                default: r#"see [`run.rollout`](#runrollout)"#,
                allowed: r#"see [`run.rollout`](#runrollout)"#,
                example: r#"`{ max_surge = 1, max_unavailable = 0 }`"#,
                why: r#"how an update replaces replicas"#,
            },
            Key {
                key: r#"`resources`"#,
                ty: r#"table"#,
                default: r#"no requests"#,
                allowed: r#"see [`run.resources`](#runresources)"#,
                example: r#"`{ cpu = "250m", memory = "128Mi" }`"#,
                why: r#"what each replica requests"#,
            },
            Key {
                key: r#"`autoscale`"#,
                ty: r#"table"#,
                default: r#"none (fixed `replicas`)"#,
                allowed: r#"see [`run.autoscale`](#runautoscale)"#,
                example: r#"`{ min = 3, max = 10, cpu_percent = 70 }`"#,
                why: r#"horizontal autoscaling on CPU"#,
            },
            Key {
                key: r#"`ingress`"#,
                ty: r#"table"#,
                default: r#"none"#,
                allowed: r#"see [`run.ingress`](#runingress)"#,
                example: r#"`{ host = "example.com" }`"#,
                why: r#"route HTTP from outside the cluster"#,
            },
            Key {
                key: r#"`termination_grace`"#,
                ty: r#"duration"#,
                default: r#"`"30s"`"#,
                allowed: r#"whole seconds, `"0s"` or more"#,
                example: r#"`"45s"`"#,
                why: r#"time a replica gets to stop after SIGTERM before SIGKILL"#,
            },
            Key {
                key: r#"`state`"#,
                ty: r#"string or table"#,
                default: r#"none"#,
                allowed: r#"an absolute path, or a table, see [`run.state`](#runstate)"#,
                example: r#"`"/data"`"#,
                why: r#"a directory the app writes that outlives replicas and updates"#,
            },
        ],
        outro: r#"On this machine (`hoist deploy` without Kubernetes) the agent uses `replicas`, `driver`, `env`,
`health`, `rollout`, `termination_grace` and `ingress.host`/`ingress.path`; `resources`,
`autoscale`, `ingress.tls_secret` and `ingress.class` only shape the Kubernetes manifests (the
local runtime neither limits CPU and memory nor autoscales)."#,
    },
    Section {
        title: r#"`run.health`"#,
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
                key: r#"`path`"#,
                ty: r#"string"#,
                default: r#"—"#,
                allowed: r#"starts with `/`, no spaces"#,
                example: r#"`"/healthz"`"#,
                why: r#"HTTP GET; 200–399 passes"#,
            },
            Key {
                key: r#"`tcp`"#,
                ty: r#"boolean"#,
                default: r#"—"#,
                allowed: r#"`true`"#,
                example: r#"`true`"#,
                why: r#"a TCP connect succeeds"#,
            },
            Key {
                key: r#"`exec`"#,
                ty: r#"array of strings"#,
                default: r#"—"#,
                allowed: r#"a non-empty command"#,
                example: r#"`["/hello", "-check"]`"#,
                why: r#"a command exits 0 inside the replica"#,
            },
            Key {
                key: r#"`port`"#,
                ty: r#"integer"#,
                default: r#"`app.port`"#,
                allowed: r#"`app.port`, the one port the container exposes (another port is an error); not with `exec`"#,
                example: r#"`8080`"#,
                why: r#"written out for clarity only"#,
            },
            Key {
                key: r#"`initial_delay`"#,
                ty: r#"duration"#,
                default: r#"`"0s"`"#,
                allowed: r#"whole seconds"#,
                example: r#"`"5s"`"#,
                why: r#"wait before the first check"#,
            },
            Key {
                key: r#"`period`"#,
                ty: r#"duration"#,
                default: r#"`"10s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"5s"`"#,
                why: r#"time between checks"#,
            },
            Key {
                key: r#"`timeout`"#,
                ty: r#"duration"#,
                default: r#"`"1s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"3s"`"#,
                why: r#"time one check may take"#,
            },
            Key {
                key: r#"`success_threshold`"#,
                ty: r#"integer"#,
                default: r#"`1`"#,
                allowed: r#"1 or more; must be 1 for liveness and startup (a Kubernetes rule)"#,
                example: r#"`2` (in `readiness`)"#,
                why: r#"successes in a row to count as passing"#,
            },
            Key {
                key: r#"`failure_threshold`"#,
                ty: r#"integer"#,
                default: r#"`3`"#,
                allowed: r#"1 or more"#,
                example: r#"`30` (in `startup`)"#,
                why: r#"failures in a row to count as failing"#,
            },
            Key {
                key: r#"`readiness`, `liveness`, `startup`"#,
                ty: r#"table"#,
                default: r#"—"#,
                allowed: r#"the keys above"#,
                example: r#"`startup = { failure_threshold = 30 }`"#,
                why: r#"override one probe"#,
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
        title: r#"`run.rollout`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`max_surge`"#,
                ty: r#"integer or percentage string"#,
                default: r#"`1`"#,
                allowed: r#"0 or more, or `"0%"`–`"100%"` (rounded up)"#,
                example: r#"`"25%"`"#,
                why: r#"replicas above the desired count during an update"#,
            },
            Key {
                key: r#"`max_unavailable`"#,
                ty: r#"integer or percentage string"#,
                default: r#"`0`"#,
                allowed: r#"0 or more, or `"0%"`–`"100%"` (rounded down)"#,
                example: r#"`1`"#,
                why: r#"replicas below the desired count during an update"#,
            },
            Key {
                key: r#"`deadline`"#,
                ty: r#"duration"#,
                default: r#"`"60s"`"#,
                allowed: r#"whole seconds, at least `"1s"`"#,
                example: r#"`"2m"`"#,
                why: r#"time for the new revision to become ready before it is rolled back"#,
            },
        ],
        outro: r#"`max_surge` and `max_unavailable` may not both come to 0 for the replica count (or
`autoscale.min`): such a rollout would never make progress."#,
    },
    Section {
        title: r#"`run.resources`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`cpu`"#,
                ty: r#"string (or number)"#,
                default: r#"none"#,
                allowed: r#"cores `"1"`, `"0.5"` or millicores `"250m"`; whole millicores (not `"1.5m"` or `"0.0005"`: Kubernetes' precision is 1m)"#,
                example: r#"`"250m"`"#,
                why: r#"CPU request per replica; the base of `autoscale.cpu_percent`"#,
            },
            Key {
                key: r#"`memory`"#,
                ty: r#"string (or integer)"#,
                default: r#"none"#,
                allowed: r#"a number with `Ki`, `Mi`, `Gi`, `Ti`, `Pi`, `Ei`, `k`, `M`, `G`, `T`, `P`, `E` or an exponent (`1e3`); not `MB`; more than 0"#,
                example: r#"`"128Mi"`"#,
                why: r#"memory request and limit per replica"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`run.autoscale`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`min`"#,
                ty: r#"integer"#,
                default: r#"`1`"#,
                allowed: r#"1 or more"#,
                example: r#"`3`"#,
                why: r#"fewest replicas"#,
            },
            Key {
                key: r#"`max`"#,
                ty: r#"integer"#,
                default: r#"**required** in `autoscale`"#,
                allowed: r#"at least `min`"#,
                example: r#"`10`"#,
                why: r#"most replicas"#,
            },
            Key {
                key: r#"`cpu_percent`"#,
                ty: r#"integer"#,
                default: r#"`80`"#,
                allowed: r#"1–100"#,
                example: r#"`70`"#,
                why: r#"target average CPU use, in percent of `resources.cpu`"#,
            },
        ],
        outro: r#"`autoscale` needs a CPU request (`run.resources.cpu`, more than 0): the autoscaler measures CPU
use as a percentage of it."#,
    },
    Section {
        title: r#"`run.ingress`"#,
        intro: r#""#,
        keys: &[
            Key {
                key: r#"`host`"#,
                ty: r#"string"#,
                default: r#"none (any host)"#,
                allowed: r#"a lowercase DNS name, optionally `*.` first"#,
                example: r#"`"hello.example.com"`, `"*.example.com"`"#,
                why: r#"the Host to route"#,
            },
            Key {
                key: r#"`path`"#,
                ty: r#"string"#,
                default: r#"`"/"`"#,
                allowed: r#"starts with `/`, no spaces"#,
                example: r#"`"/api"`"#,
                why: r#"the path prefix to route"#,
            },
            Key {
                key: r#"`tls_secret`"#,
                ty: r#"string"#,
                default: r#"none (no TLS)"#,
                allowed: r#"a Kubernetes name (lowercase DNS subdomain)"#,
                example: r#"`"hello-tls"`"#,
                why: r#"the Secret with the TLS certificate"#,
            },
            Key {
                key: r#"`class`"#,
                ty: r#"string"#,
                default: r#"the cluster's default"#,
                allowed: r#"a Kubernetes name"#,
                example: r#"`"nginx"`"#,
                why: r#"the `ingressClassName`"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`run.state`"#,
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
                key: r#"`path`"#,
                ty: r#"string"#,
                default: r#"**required**"#,
                allowed: r#"absolute, plain (no `.`, `..`, `//`); not `/`, `/app`, nor below `/etc`, `/proc`, `/sys`, `/dev`, `/tmp`, `/bin`"#,
                example: r#"`"/data"`, `"/app/pb_data"`"#,
                why: r#"where the app sees the directory"#,
            },
            Key {
                key: r#"`writers`"#,
                ty: r#"string"#,
                default: r#"`"one"`"#,
                allowed: r#"`"one"`: one process owns it (SQLite, bbolt): one replica, no autoscaler; `"many"`: the app coordinates its writers: replicas and updates as `run.rollout` says"#,
                example: r#"`"many"`"#,
                why: r#"two processes writing one SQLite file, or one bbolt file held by a lock, break"#,
            },
            Key {
                key: r#"`update`"#,
                ty: r#"string"#,
                default: r#"`"recreate"`"#,
                allowed: r#"with one writer: `"recreate"`: the old replica stops before the new one starts (never two writers; no replica is ready for a moment, during which the proxy holds requests until the new one is ready, and the gap is reported); Kubernetes' `Recreate` strategy. `"overlap"`: the new replica starts while the old one serves, both open the directory until the old one is drained (for storage two processes may share, like SQLite in WAL mode); a rolling update with surge 1"#,
                example: r#"`"overlap"`"#,
                why: r#"how a new revision takes the directory over; `run.rollout.max_surge`/`max_unavailable` follow from it"#,
            },
            Key {
                key: r#"`size`"#,
                ty: r#"string"#,
                default: r#"`"1Gi"`"#,
                allowed: r#"a memory-style quantity, like `"512Mi"` or `"10Gi"`"#,
                example: r#"`"10Gi"`"#,
                why: r#"the PersistentVolumeClaim's storage request on Kubernetes"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`[config]`"#,
        intro: r#"A table of string values, rendered into the app's ConfigMap. Keys are 1–253 letters, digits,
`-`, `.` and `_`; quote keys with dots.

```toml
[config]
"app.properties" = "greeting=hello"
FEATURE_FLAGS = "beta=false"
```"#,
        keys: &[],
        outro: r#""#,
    },
    Section {
        title: r#"`[dapr]`"#,
        intro: r#"Runs the app with a [Dapr](https://dapr.io) sidecar: `hoist render` adds the pod annotations
`dapr.io/enabled: "true"`, `dapr.io/app-id` and `dapr.io/app-port` (`app.port`), which Dapr's
injector acts on. Without the table, no Dapr."#,
        keys: &[
            Key {
                key: r#"`enabled`"#,
                ty: r#"boolean"#,
                default: r#"`true` when the table is given"#,
                allowed: r#"`true`, `false`"#,
                example: r#"`false` (in `[environments.dev]`)"#,
                why: r#"turn the sidecar off in one environment"#,
            },
            Key {
                key: r#"`app_id`"#,
                ty: r#"string"#,
                default: r#"`app.name`"#,
                allowed: r#"a DNS label"#,
                example: r#"`"shop-api"`"#,
                why: r#"the Dapr app id other services call"#,
            },
        ],
        outro: r#""#,
    },
    Section {
        title: r#"`[kubernetes]`"#,
        intro: r#"Where `hoist deploy` sends the app when it targets Kubernetes. Its presence makes
`--target kubernetes` the default of `deploy`, `status`, `history` and `rollback`; without it
they target this machine. Like every table it can be given per environment
(`[environments.prod.kubernetes]`), so `dev` can stay local while `prod` goes to clusters."#,
        keys: &[
            Key {
                key: r#"`contexts`"#,
                ty: r#"array of strings"#,
                default: r#"`[]`: the kubeconfig's `current-context`"#,
                allowed: r#"kubeconfig context names, non-empty, no duplicates"#,
                example: r#"`["eu", "us"]`"#,
                why: r#"the clusters to deploy to, several at once (`--parallel`); `--context` flags replace the list"#,
            },
            Key {
                key: r#"`namespace`"#,
                ty: r#"string"#,
                default: r#"the context's namespace, else `default`"#,
                allowed: r#"a DNS label"#,
                example: r#"`"shop"`"#,
                why: r#"where the app's objects and revision records go; `-n` overrides it"#,
            },
            Key {
                key: r#"`create_namespace`"#,
                ty: r#"boolean"#,
                default: r#"`false`"#,
                allowed: r#"`true`, `false`"#,
                example: r#"`true`"#,
                why: r#"create the namespace when it does not exist (as `--create-namespace`); without it a missing namespace is an error"#,
            },
            Key {
                key: r#"`history_limit`"#,
                ty: r#"integer"#,
                default: r#"`10`"#,
                allowed: r#"1–100"#,
                example: r#"`20`"#,
                why: r#"revision records kept per app instance and namespace (the serving revision is always kept); `history` and `rollback --to` see these"#,
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
        title: r#"Durations"#,
        intro: r#"Durations are strings: a number and a unit, and several of them in a row: `"500ms"`, `"10s"`,
`"5m"`, `"1h"`, `"1m30s"` (units `h`, `m`, `s`, `ms`, `us`, `ns`). A bare number such as `30` is
an error: write `"30s"`. Probe times, `termination_grace` and `rollout.deadline` are whole
seconds, as Kubernetes counts them. `hoist config` prints durations in seconds (`"90s"`)."#,
        keys: &[],
        outro: r#""#,
    },
    Section {
        title: r#"Environments and `--env`"#,
        intro: r#"`[environments.NAME]` tables hold overlays: any of `app`, `build`, `image`, `run` and `config`,
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
        outro: r#""#,
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
                    k.key, k.ty, k.default, k.allowed, k.example, k.why
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
            for name in k.key.split('`').skip(1).step_by(2) {
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
                for cell in [k.key, k.ty, k.default, k.allowed, k.example, k.why] {
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

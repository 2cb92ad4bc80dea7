//! Overlay merging: a key the overlay gives replaces the base's; tables merge key by key.
//!
//! Arrays are values, so an overlay array replaces the base's whole array. The check a probe
//! makes (`path`, `tcp`, `exec`) is one choice: an overlay that gives one of them replaces all
//! three (and `port`, which goes with the check), so `exec = […]` in an overlay switches an HTTP
//! probe to exec rather than conflicting with its `path`.

use crate::field::Opt;
use crate::partial::{
    AppPart, AutoscalePart, BuildPart, ChaosPart, DaprPart, HealthPart, HostsPart, ImagePart,
    IngressPart, KubernetesPart, Partial, ProbePart, PrometheusPart, ResourcesPart, RolloutPart,
    RunPart, SloPart, StatePart, SyntheticPart, VerifyPart,
};
use crate::walk::StrMap;

/// Deep merge of an overlay over a base.
pub(crate) trait Merge {
    /// `self` with `overlay` laid over it.
    #[must_use]
    fn merge(self, overlay: Self) -> Self;
}

impl<T> Merge for Opt<T> {
    fn merge(self, overlay: Self) -> Self {
        overlay.or(self)
    }
}

impl Merge for StrMap {
    fn merge(mut self, overlay: Self) -> Self {
        self.extend(overlay);
        self
    }
}

/// An optional table: present in both → merged; otherwise whichever is present.
fn merge_table<T: Merge>(base: Option<T>, overlay: Option<T>) -> Option<T> {
    match (base, overlay) {
        (Some(b), Some(o)) => Some(b.merge(o)),
        (b, o) => o.or(b),
    }
}

/// `Self { a: base.a.merge(overlay.a), … }` for the listed fields.
macro_rules! merge_fields {
    ($base:ident, $overlay:ident, $ty:ident { $($field:ident),* $(,)? } $(, $rest:ident: $value:expr)*) => {
        $ty {
            $($field: Merge::merge($base.$field, $overlay.$field),)*
            $($rest: $value,)*
        }
    };
}

impl Merge for Partial {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            Partial {
                app,
                build,
                image,
                run,
                config
            },
            dapr: merge_table(b.dapr, o.dapr),
            kubernetes: merge_table(b.kubernetes, o.kubernetes),
            hosts: merge_table(b.hosts, o.hosts),
            // Overlays and `--set` cannot hold `[ci]` (the parser refuses it there).
            ci: o.ci.or(b.ci),
            verify: merge_table(b.verify, o.verify)
        )
    }
}

impl Merge for VerifyPart {
    fn merge(self, o: Self) -> Self {
        VerifyPart {
            chaos: merge_table(self.chaos, o.chaos),
            prometheus: merge_table(self.prometheus, o.prometheus),
        }
    }
}

impl Merge for PrometheusPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            PrometheusPart {
                url,
                requests,
                errors,
                latency
            },
            at: o.at
        )
    }
}

impl Merge for ChaosPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            ChaosPart {
                step,
                kill,
                latency,
                abort,
                reset,
                cpu
            },
            at: o.at
        )
    }
}

impl Merge for HostsPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            HostsPart {
                targets,
                user,
                port,
                identity,
                parallel,
                http,
                https,
                tls_cert,
                tls_key,
                domains,
                acme_email,
                acme_directory,
                acme_ca,
                engine
            }
        )
    }
}

impl Merge for AppPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(b, o, AppPart { name, main, port, args }, at: o.at.or(b.at))
    }
}

impl Merge for BuildPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            BuildPart {
                platforms,
                base,
                tags,
                ldflags,
                version_var,
                commit_var,
                cgo,
                env
            }
        )
    }
}

impl Merge for ImagePart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            ImagePart {
                repository,
                tags,
                labels,
                source
            }
        )
    }
}

impl Merge for RunPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            RunPart { replicas, driver, env, rollout, resources, termination_grace },
            health: merge_table(b.health, o.health),
            autoscale: merge_table(b.autoscale, o.autoscale),
            ingress: merge_table(b.ingress, o.ingress),
            state: merge_table(b.state, o.state)
        )
    }
}

impl Merge for StatePart {
    fn merge(self, o: Self) -> Self {
        StatePart {
            at: o.at,
            path: o.path.or(self.path),
            writers: o.writers.or(self.writers),
            update: o.update.or(self.update),
            size: o.size.or(self.size),
        }
    }
}

impl Merge for HealthPart {
    fn merge(self, o: Self) -> Self {
        HealthPart {
            common: self.common.merge(o.common),
            readiness: merge_table(self.readiness, o.readiness),
            liveness: merge_table(self.liveness, o.liveness),
            startup: merge_table(self.startup, o.startup),
        }
    }
}

impl Merge for ProbePart {
    fn merge(mut self, o: Self) -> Self {
        if o.has_action() {
            self.path = None;
            self.tcp = None;
            self.exec = None;
            self.port = None;
        }
        let b = self;
        merge_fields!(
            b,
            o,
            ProbePart {
                path,
                port,
                tcp,
                exec,
                initial_delay,
                period,
                timeout,
                success_threshold,
                failure_threshold,
            },
            at: o.at
        )
    }
}

impl Merge for RolloutPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            RolloutPart {
                max_surge,
                max_unavailable,
                deadline,
                strategy,
                steps,
                interval,
                min_sample,
                max_wait
            },
            // `cookie` or `header` is one choice: an overlay's `sticky` replaces the base's.
            sticky: o.sticky.or(b.sticky),
            slo: merge_table(b.slo, o.slo),
            synthetic: merge_table(b.synthetic, o.synthetic)
        )
    }
}

impl Merge for SyntheticPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(b, o, SyntheticPart { paths, rate }, at: o.at)
    }
}

impl Merge for SloPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(b, o, SloPart { error_rate, p50, p99 }, at: o.at)
    }
}

impl Merge for ResourcesPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(b, o, ResourcesPart { cpu, memory })
    }
}

impl Merge for AutoscalePart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(b, o, AutoscalePart { min, max, cpu_percent }, at: o.at)
    }
}

impl Merge for KubernetesPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            KubernetesPart {
                contexts,
                namespace,
                create_namespace,
                history_limit
            }
        )
    }
}

impl Merge for DaprPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(b, o, DaprPart { enabled, app_id })
    }
}

impl Merge for IngressPart {
    fn merge(self, o: Self) -> Self {
        let b = self;
        merge_fields!(
            b,
            o,
            IngressPart {
                host,
                path,
                tls_secret,
                class
            }
        )
    }
}

package main

// The API server's rules for the fields hoist writes, stated with apimachinery's own helpers.
// They mirror k8s.io/kubernetes/pkg/apis/{apps,core,networking,autoscaling}/validation for the
// subset of fields hoist renders; that package cannot be imported outside the kubernetes module.

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func messages(errs []string, path *field.Path, value any) field.ErrorList {
	var out field.ErrorList
	for _, msg := range errs {
		out = append(out, field.Invalid(path, value, msg))
	}
	return out
}

// selector: a valid label selector that, when labels are given, matches them.
func selector(s *metav1.LabelSelector, matches map[string]string, path *field.Path) field.ErrorList {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		return field.ErrorList{field.Required(path, "an empty selector selects everything")}
	}
	errs := metav1validation.ValidateLabelSelector(s, metav1validation.LabelSelectorValidationOptions{}, path)
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		return append(errs, field.Invalid(path, s, err.Error()))
	}
	if matches != nil && !sel.Matches(labels.Set(matches)) {
		errs = append(errs, field.Invalid(path, s, "does not match the template's labels"))
	}
	return errs
}

func intOrPercent(v *intstr.IntOrString, path *field.Path) field.ErrorList {
	if v == nil {
		return nil
	}
	if v.Type == intstr.Int {
		if v.IntVal < 0 {
			return field.ErrorList{field.Invalid(path, v.IntVal, "must be 0 or more")}
		}
		return nil
	}
	var p int
	if _, err := fmt.Sscanf(v.StrVal, "%d%%", &p); err != nil || fmt.Sprintf("%d%%", p) != v.StrVal || p < 0 || p > 100 {
		return field.ErrorList{field.Invalid(path, v.StrVal, "must be an integer or a percentage from 0% to 100%")}
	}
	return nil
}

func positive(v *int32, path *field.Path) field.ErrorList {
	if v != nil && *v < 1 {
		return field.ErrorList{field.Invalid(path, *v, "must be at least 1")}
	}
	return nil
}

func nonNegative(v *int32, path *field.Path) field.ErrorList {
	if v != nil && *v < 0 {
		return field.ErrorList{field.Invalid(path, *v, "must be 0 or more")}
	}
	return nil
}

func deployment(d *appsv1.Deployment) field.ErrorList {
	spec := field.NewPath("spec")
	errs := nonNegative(d.Spec.Replicas, spec.Child("replicas"))
	errs = append(errs, selector(d.Spec.Selector, d.Spec.Template.Labels, spec.Child("selector"))...)
	errs = append(errs, metav1validation.ValidateLabels(d.Spec.Template.Labels, spec.Child("template", "metadata", "labels"))...)
	errs = append(errs, apivalidation.ValidateAnnotations(d.Spec.Template.Annotations, spec.Child("template", "metadata", "annotations"))...)
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType && d.Spec.Strategy.RollingUpdate != nil {
		errs = append(errs, field.Forbidden(spec.Child("strategy", "rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'"))
	}
	if ru := d.Spec.Strategy.RollingUpdate; d.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType && ru != nil {
		path := spec.Child("strategy", "rollingUpdate")
		errs = append(errs, intOrPercent(ru.MaxSurge, path.Child("maxSurge"))...)
		errs = append(errs, intOrPercent(ru.MaxUnavailable, path.Child("maxUnavailable"))...)
		zero := func(v *intstr.IntOrString) bool {
			return v != nil && (v.String() == "0" || v.String() == "0%")
		}
		if zero(ru.MaxSurge) && zero(ru.MaxUnavailable) {
			errs = append(errs, field.Invalid(path, ru, "may not be 0 when maxSurge is 0"))
		}
	}
	errs = append(errs, positive(d.Spec.ProgressDeadlineSeconds, spec.Child("progressDeadlineSeconds"))...)
	errs = append(errs, podSpec(&d.Spec.Template.Spec, spec.Child("template", "spec"))...)
	return errs
}

func podSpec(p *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(p.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	errs = append(errs, nonNegativeInt64(p.TerminationGracePeriodSeconds, path.Child("terminationGracePeriodSeconds"))...)
	if p.ServiceAccountName != "" {
		errs = append(errs, messages(validation.IsDNS1123Subdomain(p.ServiceAccountName), path.Child("serviceAccountName"), p.ServiceAccountName)...)
	}
	volumes := map[string]bool{}
	for i, v := range p.Volumes {
		errs = append(errs, messages(validation.IsDNS1123Label(v.Name), path.Child("volumes").Index(i).Child("name"), v.Name)...)
		volumes[v.Name] = true
	}
	for i := range p.Containers {
		errs = append(errs, container(&p.Containers[i], volumes, path.Child("containers").Index(i))...)
	}
	return errs
}

func nonNegativeInt64(v *int64, path *field.Path) field.ErrorList {
	if v != nil && *v < 0 {
		return field.ErrorList{field.Invalid(path, *v, "must be 0 or more")}
	}
	return nil
}

func container(c *corev1.Container, volumes map[string]bool, path *field.Path) field.ErrorList {
	errs := messages(validation.IsDNS1123Label(c.Name), path.Child("name"), c.Name)
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), ""))
	}
	ports := map[string]int32{}
	for i, port := range c.Ports {
		p := path.Child("ports").Index(i)
		errs = append(errs, messages(validation.IsValidPortNum(int(port.ContainerPort)), p.Child("containerPort"), port.ContainerPort)...)
		if port.Name != "" {
			errs = append(errs, messages(validation.IsValidPortName(port.Name), p.Child("name"), port.Name)...)
			ports[port.Name] = port.ContainerPort
		}
	}
	for i, e := range c.Env {
		errs = append(errs, messages(validation.IsEnvVarName(e.Name), path.Child("env").Index(i).Child("name"), e.Name)...)
	}
	for i, m := range c.VolumeMounts {
		if !volumes[m.Name] {
			errs = append(errs, field.NotFound(path.Child("volumeMounts").Index(i).Child("name"), m.Name))
		}
	}
	for name, q := range c.Resources.Requests {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(path.Child("resources", "requests").Key(string(name)), q.String(), "must be 0 or more"))
		}
		if limit, ok := c.Resources.Limits[name]; ok && limit.Cmp(q) < 0 {
			errs = append(errs, field.Invalid(path.Child("resources", "requests").Key(string(name)), q.String(), "must be less than or equal to the limit"))
		}
	}
	errs = append(errs, probe(c.ReadinessProbe, ports, false, path.Child("readinessProbe"))...)
	errs = append(errs, probe(c.LivenessProbe, ports, true, path.Child("livenessProbe"))...)
	errs = append(errs, probe(c.StartupProbe, ports, true, path.Child("startupProbe"))...)
	return errs
}

func probe(p *corev1.Probe, ports map[string]int32, successMustBeOne bool, path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	var errs field.ErrorList
	handlers := 0
	if h := p.HTTPGet; h != nil {
		handlers++
		errs = append(errs, probePort(h.Port, ports, path.Child("httpGet", "port"))...)
	}
	if t := p.TCPSocket; t != nil {
		handlers++
		errs = append(errs, probePort(t.Port, ports, path.Child("tcpSocket", "port"))...)
	}
	if e := p.Exec; e != nil {
		handlers++
		if len(e.Command) == 0 {
			errs = append(errs, field.Required(path.Child("exec", "command"), ""))
		}
	}
	if handlers != 1 {
		errs = append(errs, field.Invalid(path, handlers, "must have exactly one handler"))
	}
	errs = append(errs, nonNegative(&p.InitialDelaySeconds, path.Child("initialDelaySeconds"))...)
	errs = append(errs, positive(&p.PeriodSeconds, path.Child("periodSeconds"))...)
	errs = append(errs, positive(&p.TimeoutSeconds, path.Child("timeoutSeconds"))...)
	errs = append(errs, positive(&p.SuccessThreshold, path.Child("successThreshold"))...)
	errs = append(errs, positive(&p.FailureThreshold, path.Child("failureThreshold"))...)
	if successMustBeOne && p.SuccessThreshold != 1 {
		errs = append(errs, field.Invalid(path.Child("successThreshold"), p.SuccessThreshold, "must be 1"))
	}
	return errs
}

// probePort: a number, or the name of one of the container's ports (the server only checks
// the syntax; hoist's probes must use a port the container declares, so check that too).
func probePort(port intstr.IntOrString, ports map[string]int32, path *field.Path) field.ErrorList {
	if port.Type == intstr.String {
		if _, ok := ports[port.StrVal]; !ok {
			return field.ErrorList{field.NotFound(path, port.StrVal)}
		}
		return messages(validation.IsValidPortName(port.StrVal), path, port.StrVal)
	}
	for _, p := range ports {
		if p == port.IntVal {
			return nil
		}
	}
	return field.ErrorList{field.Invalid(path, port.IntVal, "is not a port the container declares")}
}

func service(s *corev1.Service) field.ErrorList {
	path := field.NewPath("spec")
	errs := metav1validation.ValidateLabels(s.Spec.Selector, path.Child("selector"))
	if len(s.Spec.Ports) == 0 {
		errs = append(errs, field.Required(path.Child("ports"), ""))
	}
	for i, p := range s.Spec.Ports {
		pp := path.Child("ports").Index(i)
		errs = append(errs, messages(validation.IsValidPortNum(int(p.Port)), pp.Child("port"), p.Port)...)
		if len(s.Spec.Ports) > 1 || p.Name != "" {
			errs = append(errs, messages(validation.IsDNS1123Label(p.Name), pp.Child("name"), p.Name)...)
		}
		if p.TargetPort.Type == intstr.String {
			errs = append(errs, messages(validation.IsValidPortName(p.TargetPort.StrVal), pp.Child("targetPort"), p.TargetPort.StrVal)...)
		} else {
			errs = append(errs, messages(validation.IsValidPortNum(int(p.TargetPort.IntVal)), pp.Child("targetPort"), p.TargetPort.IntVal)...)
		}
	}
	return errs
}

func ingress(in *networkingv1.Ingress) field.ErrorList {
	path := field.NewPath("spec")
	var errs field.ErrorList
	if c := in.Spec.IngressClassName; c != nil {
		errs = append(errs, messages(validation.IsDNS1123Subdomain(*c), path.Child("ingressClassName"), *c)...)
	}
	host := func(h string, p *field.Path) field.ErrorList {
		if len(h) > 2 && h[:2] == "*." {
			return messages(validation.IsWildcardDNS1123Subdomain(h), p, h)
		}
		return messages(validation.IsDNS1123Subdomain(h), p, h)
	}
	for i, tls := range in.Spec.TLS {
		tp := path.Child("tls").Index(i)
		for j, h := range tls.Hosts {
			errs = append(errs, host(h, tp.Child("hosts").Index(j))...)
		}
		errs = append(errs, messages(validation.IsDNS1123Subdomain(tls.SecretName), tp.Child("secretName"), tls.SecretName)...)
	}
	for i, rule := range in.Spec.Rules {
		rp := path.Child("rules").Index(i)
		if rule.Host != "" {
			errs = append(errs, host(rule.Host, rp.Child("host"))...)
		}
		if rule.HTTP == nil || len(rule.HTTP.Paths) == 0 {
			errs = append(errs, field.Required(rp.Child("http", "paths"), ""))
			continue
		}
		for j, p := range rule.HTTP.Paths {
			pp := rp.Child("http", "paths").Index(j)
			if p.PathType == nil || *p.PathType != networkingv1.PathTypePrefix {
				errs = append(errs, field.Invalid(pp.Child("pathType"), p.PathType, "hoist writes Prefix"))
			}
			if len(p.Path) == 0 || p.Path[0] != '/' {
				errs = append(errs, field.Invalid(pp.Child("path"), p.Path, "must be an absolute path"))
			}
			if s := p.Backend.Service; s == nil {
				errs = append(errs, field.Required(pp.Child("backend", "service"), ""))
			} else {
				errs = append(errs, messages(validation.IsDNS1035Label(s.Name), pp.Child("backend", "service", "name"), s.Name)...)
				errs = append(errs, messages(validation.IsValidPortNum(int(s.Port.Number)), pp.Child("backend", "service", "port", "number"), s.Port.Number)...)
			}
		}
	}
	return errs
}

func hpa(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	path := field.NewPath("spec")
	errs := positive(h.Spec.MinReplicas, path.Child("minReplicas"))
	if h.Spec.MinReplicas != nil && h.Spec.MaxReplicas < *h.Spec.MinReplicas {
		errs = append(errs, field.Invalid(path.Child("maxReplicas"), h.Spec.MaxReplicas, "must be at least minReplicas"))
	}
	ref := h.Spec.ScaleTargetRef
	if ref.Kind != "Deployment" || ref.APIVersion != "apps/v1" {
		errs = append(errs, field.Invalid(path.Child("scaleTargetRef"), ref, "hoist scales its apps/v1 Deployment"))
	}
	errs = append(errs, messages(validation.IsDNS1123Subdomain(ref.Name), path.Child("scaleTargetRef", "name"), ref.Name)...)
	for i, m := range h.Spec.Metrics {
		mp := path.Child("metrics").Index(i)
		if m.Type != autoscalingv2.ResourceMetricSourceType || m.Resource == nil {
			errs = append(errs, field.Invalid(mp.Child("type"), m.Type, "hoist writes Resource metrics"))
			continue
		}
		t := m.Resource.Target
		if t.Type != autoscalingv2.UtilizationMetricType || t.AverageUtilization == nil || *t.AverageUtilization < 1 {
			errs = append(errs, field.Invalid(mp.Child("resource", "target"), t, "must be a positive averageUtilization"))
		}
	}
	return errs
}

// claim: the API server's rules for a PersistentVolumeClaim hoist writes: access modes from the
// known set, and a positive storage request.
func claim(c *corev1.PersistentVolumeClaim) field.ErrorList {
	path := field.NewPath("spec")
	var errs field.ErrorList
	if len(c.Spec.AccessModes) == 0 {
		errs = append(errs, field.Required(path.Child("accessModes"), "at least 1 access mode is required"))
	}
	for i, m := range c.Spec.AccessModes {
		switch m {
		case corev1.ReadWriteOnce, corev1.ReadOnlyMany, corev1.ReadWriteMany, corev1.ReadWriteOncePod:
		default:
			errs = append(errs, field.NotSupported(path.Child("accessModes").Index(i), m, []string{"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}))
		}
	}
	storage, ok := c.Spec.Resources.Requests[corev1.ResourceStorage]
	if !ok {
		errs = append(errs, field.Required(path.Child("resources", "requests", "storage"), ""))
	} else if storage.Sign() <= 0 {
		errs = append(errs, field.Invalid(path.Child("resources", "requests", "storage"), storage.String(), "must be greater than zero"))
	}
	return errs
}

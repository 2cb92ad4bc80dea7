// Command k8svalidate checks Kubernetes manifests the way the API server's decoder would, offline.
//
// It reads a multi-document YAML stream on stdin (or the files named as arguments) and, for
// every document:
//   - converts YAML to JSON with sigs.k8s.io/yaml, which reads YAML 1.1 like kubectl does, so a
//     bare `on` or `1:30` meant as a string fails to decode into a string field;
//   - decodes it strictly with apimachinery's serializer (EnableStrict) into the typed struct of
//     k8s.io/api for its apiVersion and kind: an unknown or misspelled field, a duplicate field, a
//     value of the wrong type or a malformed quantity fails;
//   - runs the API's own validation helpers from k8s.io/apimachinery (object names, label keys and
//     values, annotations, label selectors, DNS names, port names and numbers, env var and
//     ConfigMap key names), plus a few of the server's cross-field rules that those helpers make
//     easy to state (the selector matches the pod template, probe thresholds, rollout progress).
//
// It prints one line per document (`ok Kind/name`, and for a ConfigMap its data as JSON) and
// exits 1 after the first problem.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

func main() {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, policyv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			fail("scheme: %v", err)
		}
	}
	decoder := serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()

	inputs := os.Args[1:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	count := 0
	for _, name := range inputs {
		var in io.Reader = os.Stdin
		if name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fail("%v", err)
			}
			defer f.Close()
			in = f
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
		for {
			doc, err := reader.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				fail("%s: reading YAML: %v", name, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			count++
			jsonDoc, err := yaml.YAMLToJSON(doc)
			if err != nil {
				fail("%s: document %d: not YAML: %v", name, count, err)
			}
			obj, gvk, err := decoder.Decode(jsonDoc, nil, nil)
			if err != nil {
				fail("%s: document %d: strict decoding failed: %v\n%s", name, count, err, doc)
			}
			if errs := validate(obj); len(errs) > 0 {
				fail("%s: document %d (%s): invalid: %v", name, count, gvk.Kind, errs.ToAggregate())
			}
			meta := obj.(metav1.Object)
			fmt.Printf("ok %s/%s", gvk.Kind, meta.GetName())
			// A ConfigMap's data as Kubernetes read it, so a test can compare it with the config.
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				data, _ := json.Marshal(cm.Data)
				fmt.Printf(" %s", data)
			}
			fmt.Println()
		}
	}
	if count == 0 {
		fail("no documents")
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "k8svalidate: "+format+"\n", args...)
	os.Exit(1)
}

func validate(obj runtime.Object) field.ErrorList {
	// Names: every kind here takes a DNS-1123 subdomain, Services a DNS-1035 label. The
	// manifests carry no namespace: they are applied into the one the user chooses.
	nameRule := apivalidation.NameIsDNSSubdomain
	if _, ok := obj.(*corev1.Service); ok {
		nameRule = apivalidation.NameIsDNS1035Label
	}
	meta := obj.(metav1.Object)
	errs := apivalidation.ValidateObjectMetaAccessor(meta, false, nameRule, field.NewPath("metadata"))
	switch o := obj.(type) {
	case *appsv1.Deployment:
		errs = append(errs, deployment(o)...)
	case *corev1.Service:
		errs = append(errs, service(o)...)
	case *corev1.ConfigMap:
		for key := range o.Data {
			for _, msg := range validation.IsConfigMapKey(key) {
				errs = append(errs, field.Invalid(field.NewPath("data").Key(key), key, msg))
			}
		}
	case *networkingv1.Ingress:
		errs = append(errs, ingress(o)...)
	case *autoscalingv2.HorizontalPodAutoscaler:
		errs = append(errs, hpa(o)...)
	case *policyv1.PodDisruptionBudget:
		errs = append(errs, selector(o.Spec.Selector, nil, field.NewPath("spec", "selector"))...)
		errs = append(errs, intOrPercent(o.Spec.MaxUnavailable, field.NewPath("spec", "maxUnavailable"))...)
	case *corev1.PersistentVolumeClaim:
		errs = append(errs, claim(o)...)
	case *corev1.ServiceAccount:
	default:
		errs = append(errs, field.NotSupported(field.NewPath("kind"), obj.GetObjectKind().GroupVersionKind().Kind, []string{}))
	}
	return errs
}

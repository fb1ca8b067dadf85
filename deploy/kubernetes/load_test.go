// Package kubernetes_test checks the manifests under deploy/kubernetes: no
// cluster runs here, so every file is decoded strictly into the k8s.io/api
// types (an unknown or misspelt field fails), the base and each overlay are
// rendered with kustomize, and the result is checked against the binaries'
// own flags and the contract.
package kubernetes_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8sjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// strictDecoder decodes YAML into the typed objects of the kinds the
// manifests may use, failing on unknown, misspelt (field names are
// case-sensitive) or duplicate fields, and on any other kind.
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme,
		autoscalingv2.AddToScheme, networkingv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return k8sjson.NewSerializerWithOptions(k8sjson.DefaultMetaFactory, scheme, scheme,
		k8sjson.SerializerOptions{Yaml: true, Strict: true})
}()

// objects are the decoded manifests of one file or one rendered overlay.
type objects struct {
	Namespaces   []*corev1.Namespace
	Deployments  []*appsv1.Deployment
	StatefulSets []*appsv1.StatefulSet
	Services     []*corev1.Service
	Secrets      []*corev1.Secret
	ConfigMaps   []*corev1.ConfigMap
	PDBs         []*policyv1.PodDisruptionBudget
	HPAs         []*autoscalingv2.HorizontalPodAutoscaler
	Policies     []*networkingv1.NetworkPolicy
}

func (o *objects) add(obj runtime.Object) error {
	switch v := obj.(type) {
	case *corev1.Namespace:
		o.Namespaces = append(o.Namespaces, v)
	case *appsv1.Deployment:
		o.Deployments = append(o.Deployments, v)
	case *appsv1.StatefulSet:
		o.StatefulSets = append(o.StatefulSets, v)
	case *corev1.Service:
		o.Services = append(o.Services, v)
	case *corev1.Secret:
		o.Secrets = append(o.Secrets, v)
	case *corev1.ConfigMap:
		o.ConfigMaps = append(o.ConfigMaps, v)
	case *policyv1.PodDisruptionBudget:
		o.PDBs = append(o.PDBs, v)
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.HPAs = append(o.HPAs, v)
	case *networkingv1.NetworkPolicy:
		o.Policies = append(o.Policies, v)
	default:
		return fmt.Errorf("kind %T: not one the manifests are meant to hold", obj)
	}
	return nil
}

// decodeStrict decodes every YAML document of data into o.
func decodeStrict(data []byte, o *objects) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
		if j, err := yaml.YAMLToJSON(doc); err == nil && string(bytes.TrimSpace(j)) == "null" {
			continue // comments only
		}
		obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			return fmt.Errorf("document %d (%v): %w", n, gvk, err)
		}
		if err := o.add(obj); err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
	}
}

// readKustomization decodes a kustomization.yaml strictly.
func readKustomization(path string) (*types.Kustomization, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, err
	}
	var k types.Kustomization
	strictErrs, err := sigsjson.UnmarshalStrict(j, &k)
	if err := errors.Join(append(strictErrs, err)...); err != nil {
		return nil, err
	}
	return &k, nil
}

// render builds the kustomization in dir, as `kubectl apply -k dir` would,
// and decodes the result strictly.
func render(t *testing.T, dir string) *objects {
	t.Helper()
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var o objects
	if err := decodeStrict(out, &o); err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return &o
}

// TestFilesDecodeStrictly decodes every file under deploy/kubernetes on its
// own (resources and patches alike: a misspelt field in a patch would
// otherwise be carried into the output), checks every kustomization.yaml
// strictly, and that every file is used by some kustomization.
func TestFilesDecodeStrictly(t *testing.T) {
	used := map[string]bool{}
	var files []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".go") {
			return err
		}
		if d.Name() != "kustomization.yaml" {
			files = append(files, path)
			return nil
		}
		k, err := readKustomization(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			return nil
		}
		dir := filepath.Dir(path)
		refs := slices.Clone(k.Resources)
		for _, p := range k.Patches {
			if p.Path != "" {
				refs = append(refs, p.Path)
			}
		}
		for _, g := range k.ConfigMapGenerator {
			refs = append(refs, g.FileSources...)
		}
		for _, g := range k.SecretGenerator {
			refs = append(refs, g.FileSources...)
		}
		for _, ref := range refs {
			_, file, _ := strings.Cut(ref, "=") // a generator's key=path
			if file == "" {
				file = ref
			}
			used[filepath.Join(dir, file)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if !used[path] {
			t.Errorf("%s: no kustomization uses it", path)
		}
		if filepath.Ext(path) != ".yaml" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeStrict(data, &objects{}); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

package kubernetes_test

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kitshop/kitshop/internal/cli"
)

// workload is the pod template of a Deployment or a StatefulSet.
type workload struct {
	name, namespace string
	labels          map[string]string
	spec            *corev1.PodSpec
}

func (o *objects) workloads() []workload {
	var ws []workload
	for _, d := range o.Deployments {
		ws = append(ws, workload{d.Name, d.Namespace, d.Spec.Template.Labels, &d.Spec.Template.Spec})
	}
	for _, st := range o.StatefulSets {
		ws = append(ws, workload{st.Name, st.Namespace, st.Spec.Template.Labels, &st.Spec.Template.Spec})
	}
	return ws
}

// secretRef is one variable taken from a Secret.
type secretRef struct {
	workload, env string
	ref           *corev1.SecretKeySelector
}

func (o *objects) secretRefs() []secretRef {
	var refs []secretRef
	for _, w := range o.workloads() {
		for _, c := range w.spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					refs = append(refs, secretRef{w.name, e.Name, e.ValueFrom.SecretKeyRef})
				}
			}
		}
	}
	return refs
}

// secretValue is the value a reference resolves to among the rendered
// Secrets.
func (o *objects) secretValue(ref *corev1.SecretKeySelector) (string, bool) {
	for _, sec := range o.Secrets {
		if sec.Name != ref.Name {
			continue
		}
		if v, ok := sec.StringData[ref.Key]; ok {
			return v, true
		}
		v, ok := sec.Data[ref.Key]
		return string(v), ok
	}
	return "", false
}

// checkSecrets: one SERVICE_SECRET shared by every service, one database
// per service. The dev overlay makes every Secret it uses; the others make
// none (no secret value is committed), and the ones they expect are listed
// in docs/KUBERNETES.md.
func (s *shop) checkSecrets(t *testing.T) {
	shared := map[string]bool{}
	databases := map[string]string{}
	for _, r := range s.secretRefs() {
		switch r.env {
		case "SERVICE_SECRET":
			shared[r.ref.Name+"/"+r.ref.Key] = true
		case "DATABASE_URL":
			if other, dup := databases[r.ref.Name+"/"+r.ref.Key]; dup {
				t.Errorf("%s and %s share a DATABASE_URL: one database per service", other, r.workload)
			}
			databases[r.ref.Name+"/"+r.ref.Key] = r.workload
		}
	}
	if len(shared) != 1 {
		t.Errorf("SERVICE_SECRET comes from %v: want one Secret key shared by every service", shared)
	}
	if !s.devDatabase {
		if len(s.Secrets) > 0 {
			t.Errorf("%d Secrets rendered: secret values are not committed here, they are made in the cluster", len(s.Secrets))
		}
		doc, err := os.ReadFile("../../docs/KUBERNETES.md")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range s.secretRefs() {
			if !strings.Contains(string(doc), r.ref.Name) || !strings.Contains(string(doc), r.ref.Key) {
				t.Errorf("%s: Secret %s (key %s) is not in docs/KUBERNETES.md, which says what to create", r.workload, r.ref.Name, r.ref.Key)
			}
		}
		return
	}
	for _, r := range s.secretRefs() {
		v, ok := s.secretValue(r.ref)
		if !ok {
			t.Errorf("%s: %s from Secret %s key %s, which the overlay does not make", r.workload, r.env, r.ref.Name, r.ref.Key)
			continue
		}
		if r.env == "SERVICE_SECRET" && len(v) < cli.MinServiceSecretBytes {
			t.Errorf("SERVICE_SECRET has %d bytes, the services want at least %d", len(v), cli.MinServiceSecretBytes)
		}
	}
}

var createDatabase = regexp.MustCompile(`(?im)^\s*CREATE DATABASE\s+"?([a-z_][a-z0-9_]*)"?`)

// checkDatabase: PostgreSQL runs in the cluster in the dev overlay only,
// and there every DATABASE_URL reaches it with its credentials and a
// database of its own that the init script creates.
func (s *shop) checkDatabase(t *testing.T) {
	if !s.devDatabase {
		if len(s.StatefulSets) > 0 {
			t.Errorf("StatefulSets here: PostgreSQL is outside the cluster")
		}
		for _, w := range s.workloads() {
			if strings.Contains(w.spec.Containers[0].Image, "postgres") {
				t.Errorf("%s runs %s: PostgreSQL is outside the cluster", w.name, w.spec.Containers[0].Image)
			}
		}
		return
	}
	if len(s.StatefulSets) != 1 || s.StatefulSets[0].Name != "postgres" {
		t.Fatalf("want one StatefulSet, postgres")
	}
	pg := s.StatefulSets[0]
	pc := &pg.Spec.Template.Spec.Containers[0]
	user, _ := literal(pc, "POSTGRES_USER")
	var password string
	for _, e := range pc.Env {
		if e.Name == "POSTGRES_PASSWORD" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			password, _ = s.secretValue(e.ValueFrom.SecretKeyRef)
		}
	}
	created := map[string]bool{}
	for _, cm := range s.ConfigMaps {
		for _, sql := range cm.Data {
			for _, m := range createDatabase.FindAllStringSubmatch(sql, -1) {
				created[m[1]] = true
			}
		}
	}
	for _, r := range s.secretRefs() {
		if r.env != "DATABASE_URL" {
			continue
		}
		raw, _ := s.secretValue(r.ref)
		if err := s.checkDevDatabaseURL(raw, user, password, created); err != nil {
			t.Errorf("%s: DATABASE_URL: %v", r.workload, err)
		}
	}
}

func (s *shop) checkDevDatabaseURL(raw, user, password string, created map[string]bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "postgres" {
		return fmt.Errorf("want postgres://...")
	}
	svc := s.service(u.Hostname())
	if svc == nil {
		return fmt.Errorf("no Service %s", u.Hostname())
	}
	if err := s.selectsOnly(svc.Spec.Selector, "postgres"); err != nil {
		return err
	}
	pw, _ := u.User.Password()
	if u.User.Username() != user || pw != password {
		return fmt.Errorf("not the credentials PostgreSQL is given (POSTGRES_USER, POSTGRES_PASSWORD)")
	}
	cp := s.StatefulSets[0].Spec.Template.Spec.Containers[0].Ports[0]
	if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool {
		return fmt.Sprint(p.Port) == u.Port() && targets(p.TargetPort, p.Port, cp)
	}) {
		return fmt.Errorf("port %q does not reach PostgreSQL's %d", u.Port(), cp.ContainerPort)
	}
	if db := strings.TrimPrefix(u.Path, "/"); !created[db] {
		return fmt.Errorf("database %q: the init script creates %v", db, created)
	}
	return nil
}

// checkNamespace: an overlay puts everything in its own namespace, which
// enforces the restricted Pod Security Standard; the base names none.
func (s *shop) checkNamespace(t *testing.T) {
	var metas []metav1.Object
	for _, list := range [][]metav1.Object{
		asMeta(s.Deployments), asMeta(s.StatefulSets), asMeta(s.Services), asMeta(s.Secrets),
		asMeta(s.ConfigMaps), asMeta(s.PDBs), asMeta(s.HPAs), asMeta(s.Policies),
	} {
		metas = append(metas, list...)
	}
	for _, m := range metas {
		if m.GetNamespace() != s.namespace {
			t.Errorf("%s is in namespace %q, want %q", m.GetName(), m.GetNamespace(), s.namespace)
		}
	}
	if s.namespace == "" {
		if len(s.Namespaces) > 0 {
			t.Errorf("the base makes a Namespace")
		}
		return
	}
	if len(s.Namespaces) != 1 || s.Namespaces[0].Name != s.namespace {
		t.Fatalf("want the Namespace %s", s.namespace)
	}
	if got := s.Namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Errorf("Namespace %s enforces Pod Security %q, want restricted", s.namespace, got)
	}
}

func asMeta[T metav1.Object](list []T) []metav1.Object {
	out := make([]metav1.Object, len(list))
	for i, o := range list {
		out[i] = o
	}
	return out
}

// checkPodSecurity: every pod meets the restricted Pod Security Standard,
// and more: a read-only root file system.
func (s *shop) checkPodSecurity(t *testing.T) {
	for _, w := range s.workloads() {
		p := w.spec
		if p.HostNetwork || p.HostPID || p.HostIPC {
			t.Errorf("%s: shares a host namespace", w.name)
		}
		for _, v := range p.Volumes {
			if v.HostPath != nil {
				t.Errorf("%s: hostPath volume %s", w.name, v.Name)
			}
		}
		podNonRoot := p.SecurityContext != nil && p.SecurityContext.RunAsNonRoot != nil && *p.SecurityContext.RunAsNonRoot
		podSeccomp := p.SecurityContext != nil && p.SecurityContext.SeccompProfile != nil &&
			p.SecurityContext.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault
		for _, c := range append(slices.Clone(p.InitContainers), p.Containers...) {
			sc := c.SecurityContext
			if sc == nil {
				t.Errorf("%s/%s: no securityContext", w.name, c.Name)
				continue
			}
			nonRoot := podNonRoot
			if sc.RunAsNonRoot != nil {
				nonRoot = *sc.RunAsNonRoot
			}
			seccomp := podSeccomp || (sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault)
			switch {
			case !nonRoot:
				t.Errorf("%s/%s: runAsNonRoot is not true", w.name, c.Name)
			case !seccomp:
				t.Errorf("%s/%s: no RuntimeDefault seccomp profile", w.name, c.Name)
			case sc.Privileged != nil && *sc.Privileged:
				t.Errorf("%s/%s: privileged", w.name, c.Name)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s/%s: allowPrivilegeEscalation is not false", w.name, c.Name)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s/%s: readOnlyRootFilesystem is not true", w.name, c.Name)
			case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
				t.Errorf("%s/%s: capabilities %+v, want drop ALL and add none", w.name, c.Name, sc.Capabilities)
			}
		}
	}
}

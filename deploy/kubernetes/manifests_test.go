package kubernetes_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/kitshop/kitshop/internal/cli"
)

// The contract's "Binaries" table: each service's default HTTP_ADDR port.
var contractPort = map[string]int32{"usersvc": 8081, "productsvc": 8082, "ordersvc": 8083, "gateway": 8080}

// The contract's calls between services: ordersvc calls usersvc and
// productsvc, the gateway all three, and productsvc (like every service)
// fetches usersvc's token keys.
var contractCalls = map[string][]string{
	"usersvc":    nil,
	"productsvc": {"usersvc"},
	"ordersvc":   {"productsvc", "usersvc"},
	"gateway":    {"ordersvc", "productsvc", "usersvc"},
}

// overlay is what one kustomization must render.
type overlay struct {
	dir        string
	namespace  string // "" for none
	replicas   int32  // of every Deployment
	autoscaled bool   // a HorizontalPodAutoscaler per Deployment; none if false
	// devDatabase: the overlay makes its own Secrets and runs PostgreSQL in
	// a StatefulSet. Otherwise it holds neither: the Secrets are made out
	// of band and PostgreSQL is outside the cluster.
	devDatabase bool
	image       func(image string) error // of every kitshop container
}

var overlays = []overlay{
	{dir: "base", replicas: 2, autoscaled: true, image: exactImage("kitshop:local")},
	{dir: "overlays/dev", namespace: "kitshop-dev", replicas: 1, devDatabase: true, image: exactImage("kitshop:local")},
	{dir: "overlays/production", namespace: "kitshop", replicas: 3, autoscaled: true, image: pinnedInRegistry},
}

// shop is one rendered overlay with its Deployments by service name.
type shop struct {
	*objects
	overlay
	deployments map[string]*appsv1.Deployment
	settings    map[string]map[string]setting // the binaries', by service and env
}

func TestOverlays(t *testing.T) {
	settings, err := binarySettings()
	if err != nil {
		t.Fatal(err)
	}
	for _, ov := range overlays {
		t.Run(ov.dir, func(t *testing.T) {
			o := render(t, ov.dir)
			s := &shop{objects: o, overlay: ov, deployments: map[string]*appsv1.Deployment{}, settings: settings}
			for _, d := range o.Deployments {
				s.deployments[d.Name] = d
			}
			if got, want := slices.Sorted(maps.Keys(s.deployments)), cli.ServiceNames(); !slices.Equal(got, want) {
				t.Fatalf("Deployments %v, want one per service: %v", got, want)
			}
			// The checks below look at each pod's first container and port.
			for _, w := range o.workloads() {
				if len(w.spec.Containers) == 0 || len(w.spec.Containers[0].Ports) == 0 {
					t.Fatalf("%s: no container, or no port on its first one", w.name)
				}
			}
			for _, name := range cli.ServiceNames() {
				t.Run(name, func(t *testing.T) { s.checkDeployment(t, name) })
			}
			t.Run("discovery", s.checkDiscovery)
			t.Run("timeouts", s.checkTimeouts)
			t.Run("gateway-service", s.checkGatewayService)
			t.Run("disruption", s.checkDisruption)
			t.Run("autoscaling", s.checkAutoscaling)
			t.Run("secrets", s.checkSecrets)
			t.Run("database", s.checkDatabase)
			t.Run("namespace", s.checkNamespace)
			t.Run("pod-security", s.checkPodSecurity)
			t.Run("network-policies", s.checkNetworkPolicies)
		})
	}
}

// checkDeployment checks one service's Deployment against its binary's
// flags and the contract.
func (s *shop) checkDeployment(t *testing.T, service string) {
	d := s.deployments[service]
	bin := s.settings[service]
	if want := (map[string]string{nameLabel: service}); !maps.Equal(d.Spec.Selector.MatchLabels, want) || len(d.Spec.Selector.MatchExpressions) > 0 {
		t.Errorf("selector %v, want %v", d.Spec.Selector, want)
	}
	if !selects(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != s.replicas {
		t.Errorf("replicas %v, want %d", show(d.Spec.Replicas), s.replicas)
	}
	// A rollout adds a pod before it takes one away.
	ru := d.Spec.Strategy.RollingUpdate
	if d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType || ru == nil ||
		ru.MaxUnavailable == nil || ru.MaxUnavailable.String() != "0" || ru.MaxSurge == nil || ru.MaxSurge.String() == "0" {
		t.Errorf("strategy %+v, want RollingUpdate with maxUnavailable 0 and a surge", d.Spec.Strategy)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 || len(pod.InitContainers) > 0 {
		t.Fatalf("want exactly one container, got %d (and %d init)", len(pod.Containers), len(pod.InitContainers))
	}
	c := &pod.Containers[0]
	if len(c.EnvFrom) > 0 {
		t.Errorf("envFrom: every variable is named in env, so that each is checked against the binary")
	}
	if err := s.image(c.Image); err != nil {
		t.Errorf("image: %v", err)
	}
	if c.ImagePullPolicy == corev1.PullAlways {
		t.Errorf("imagePullPolicy Always: the image is pinned (and dev's is loaded, not pulled)")
	}
	// The image's entrypoint is the shop binary; the argument picks the service.
	if len(c.Command) > 0 || !slices.Equal(c.Args, []string{service}) {
		t.Errorf("command %q args %q, want no command (the image's entrypoint) and args [%q]", c.Command, c.Args, service)
	}

	// The port: the contract's, the binary's default and HTTP_ADDR agree.
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != contractPort[service] ||
		(c.Ports[0].Protocol != "" && c.Ports[0].Protocol != corev1.ProtocolTCP) {
		t.Errorf("ports %+v, want one, named http, TCP %d", c.Ports, contractPort[service])
	}
	if def := bin["HTTP_ADDR"].Default; def != fmt.Sprintf(`":%d"`, contractPort[service]) {
		t.Errorf("the binary's HTTP_ADDR default is %s, the contract's :%d", def, contractPort[service])
	}
	if v, ok := literal(c, "HTTP_ADDR"); ok && v != fmt.Sprintf(":%d", contractPort[service]) {
		t.Errorf("HTTP_ADDR=%q, want :%d (the containerPort)", v, contractPort[service])
	}
	s.checkEnv(t, service, c)
	s.checkProbes(t, c)
	s.checkDrain(t, service, &pod, c)

	r := c.Resources
	if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
		t.Errorf("resources %+v: want cpu and memory requests and a memory limit", r)
	} else if r.Limits.Memory().Cmp(*r.Requests.Memory()) < 0 {
		t.Errorf("memory limit %v below its request %v", r.Limits.Memory(), r.Requests.Memory())
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("automountServiceAccountToken not false: no service talks to the Kubernetes API")
	}
}

// checkEnv checks every variable against the binary's flags: it must be
// one of them, its value of the flag's type, and the settings whose
// defaults cannot work in a cluster must be set.
func (s *shop) checkEnv(t *testing.T, service string, c *corev1.Container) {
	bin := s.settings[service]
	seen := map[string]bool{}
	for _, e := range c.Env {
		if seen[e.Name] {
			t.Errorf("env %s set twice", e.Name)
		}
		seen[e.Name] = true
		st, ok := bin[e.Name]
		if !ok {
			t.Errorf("env %s: `shop %s -h` has no flag with that variable (it has %v)", e.Name, service, slices.Sorted(maps.Keys(bin)))
			continue
		}
		if secretSetting(e.Name) {
			if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
				t.Errorf("env %s must come from a Secret (secretKeyRef), not the manifest", e.Name)
			}
			continue
		}
		if e.ValueFrom != nil {
			t.Errorf("env %s: a literal value expected, got %+v", e.Name, e.ValueFrom)
			continue
		}
		if err := checkValue(st, e.Value); err != nil {
			t.Errorf("env %s=%q: %v", e.Name, e.Value, err)
		}
	}
	for env := range bin {
		// A default of localhost or a SQLite file in the read-only image,
		// or none at all: each would fail in a pod.
		mustSet := env == "DATABASE_URL" || env == "SERVICE_SECRET" || strings.HasSuffix(env, "_SERVICE_URL")
		if mustSet && !seen[env] {
			t.Errorf("env %s not set: the binary's default (%s) cannot work in a cluster", env, bin[env].Default)
		}
	}
	if v, _ := literal(c, "LOG_FORMAT"); v != "json" {
		t.Errorf("LOG_FORMAT=%q, want json", v)
	}
}

// checkProbes: readiness on /readyz, liveness (and startup) on /healthz, all
// on the service's own port; nothing runs a shell, which the image lacks.
func (s *shop) checkProbes(t *testing.T, c *corev1.Container) {
	port := c.Ports[0]
	for _, p := range []struct {
		kind, path string
		probe      *corev1.Probe
		required   bool
	}{
		{"readinessProbe", "/readyz", c.ReadinessProbe, true},
		{"livenessProbe", "/healthz", c.LivenessProbe, true},
		{"startupProbe", "/healthz", c.StartupProbe, false},
	} {
		if p.probe == nil {
			if p.required {
				t.Errorf("no %s", p.kind)
			}
			continue
		}
		g := p.probe.HTTPGet
		if g == nil || g.Path != p.path || (g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP) ||
			!(g.Port.IntValue() == int(port.ContainerPort) || g.Port.String() == port.Name) {
			t.Errorf("%s %+v, want GET %s on port %d", p.kind, p.probe.ProbeHandler, p.path, port.ContainerPort)
		}
	}
	if c.Lifecycle != nil {
		for _, h := range []*corev1.LifecycleHandler{c.Lifecycle.PreStop, c.Lifecycle.PostStart} {
			if h != nil && h.Exec != nil {
				t.Errorf("lifecycle exec %q: the image has no shell (and the binary drains itself)", h.Exec.Command)
			}
		}
	}
}

// checkValue checks a literal against the flag's type as the binary's
// Parse would: durations and counts of this project are positive.
func checkValue(st setting, v string) error {
	switch st.Type {
	case "duration":
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d <= 0 {
			return fmt.Errorf("want a positive duration")
		}
	case "int":
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil || fmt.Sprint(n) != v || n <= 0 {
			return fmt.Errorf("want a positive integer")
		}
	case "float":
		var f float64
		if _, err := fmt.Sscan(v, &f); err != nil {
			return fmt.Errorf("want a number")
		}
	}
	return nil
}

// secretSetting names the settings that are secrets, or that sit beside
// one (a DATABASE_URL holds a password; ADMIN_EMAIL goes with its password).
func secretSetting(env string) bool {
	switch env {
	case "SERVICE_SECRET", "DATABASE_URL", "ADMIN_EMAIL", "ADMIN_PASSWORD":
		return true
	}
	return false
}

const nameLabel = "app.kubernetes.io/name"

// selects reports whether a label selector (a map, non-empty) matches labels.
func selects(selector, podLabels map[string]string) bool {
	return len(selector) > 0 && labels.SelectorFromSet(selector).Matches(labels.Set(podLabels))
}

// literal is the value of a literal env variable.
func literal(c *corev1.Container, name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name && e.ValueFrom == nil {
			return e.Value, true
		}
	}
	return "", false
}

func exactImage(want string) func(string) error {
	return func(image string) error {
		if image != want {
			return fmt.Errorf("%q, want %q", image, want)
		}
		return nil
	}
}

// pinnedInRegistry: a production image is pulled from a registry, by a
// digest or a release tag (never latest, never the local build's tag).
func pinnedInRegistry(image string) error {
	name, digest, byDigest := strings.Cut(image, "@")
	repo, tag := name, ""
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo, tag = name[:i], name[i+1:]
	}
	host, _, _ := strings.Cut(repo, "/")
	switch {
	case !strings.Contains(repo, "/") || !(strings.ContainsAny(host, ".:") || host == "localhost"):
		return fmt.Errorf("%q: not in a registry (want host/path/kitshop)", image)
	case byDigest && !strings.HasPrefix(digest, "sha256:"):
		return fmt.Errorf("%q: want an @sha256: digest", image)
	case !byDigest && (tag == "" || tag == "latest" || tag == "local"):
		return fmt.Errorf("%q: want a release tag or a digest", image)
	}
	return nil
}

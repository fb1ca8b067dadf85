package kubernetes_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/kitshop/kitshop/internal/cli"
)

const (
	// inFlightGrace is how long a stopping service lets in-flight requests
	// finish (the contract: up to 10s) after DRAIN_DELAY.
	inFlightGrace = 10 * time.Second
	// dnsTTL is how long the cluster DNS (CoreDNS's kubernetes plugin, by
	// default) lets a headless Service's old answer live in caches.
	dnsTTL = 5 * time.Second
	// contractDiscoveryInterval is DISCOVERY_INTERVAL's default.
	contractDiscoveryInterval = 5 * time.Second
)

// checkDrain: the binary drains on SIGTERM itself (DRAIN_DELAY) and the pod
// gives it the time to, and to finish in-flight requests, before SIGKILL.
func (s *shop) checkDrain(t *testing.T, service string, pod *corev1.PodSpec, c *corev1.Container) {
	v, ok := literal(c, "DRAIN_DELAY")
	drain, err := time.ParseDuration(v)
	if !ok || err != nil || drain <= 0 {
		t.Errorf("DRAIN_DELAY=%q: want a positive duration, so that callers stop calling before the pod stops serving", v)
		return
	}
	grace := pod.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second <= drain+inFlightGrace {
		t.Errorf("terminationGracePeriodSeconds %v, want more than DRAIN_DELAY %v + %v in flight", show(grace), drain, inFlightGrace)
	}
}

// checkDiscovery: every *_SERVICE_URL is dns+http://<headless Service>:<port>
// of the service it names; the calls they make are the contract's; and a
// callee drains long enough for its callers to see it go.
func (s *shop) checkDiscovery(t *testing.T) {
	calls := map[string][]string{}
	for _, caller := range cli.ServiceNames() {
		c := &s.deployments[caller].Spec.Template.Spec.Containers[0]
		interval := contractDiscoveryInterval
		if v, ok := literal(c, "DISCOVERY_INTERVAL"); ok {
			interval, _ = time.ParseDuration(v) // its syntax is checked with the other settings
		} else if _, takes := s.settings[caller]["DISCOVERY_INTERVAL"]; takes && slices.ContainsFunc(c.Env, isServiceURL) {
			t.Errorf("%s: DISCOVERY_INTERVAL not set (the drain delays of what it calls are reckoned from it)", caller)
		}
		calls[caller] = []string{}
		for _, e := range c.Env {
			callee, ok := strings.CutSuffix(e.Name, "_SERVICE_URL")
			if !ok {
				continue
			}
			callee = strings.ToLower(callee) + "svc"
			calls[caller] = append(calls[caller], callee)
			target, ok := s.deployments[callee]
			if !ok {
				t.Errorf("%s: %s names %s, which has no Deployment", caller, e.Name, callee)
				continue
			}
			if err := s.checkServiceURL(e.Value, target); err != nil {
				t.Errorf("%s: %s=%q: %v", caller, e.Name, e.Value, err)
			}
			tc := &target.Spec.Template.Spec.Containers[0]
			if drain, err := time.ParseDuration(mustLiteral(tc, "DRAIN_DELAY")); err == nil && drain < interval+dnsTTL+time.Second {
				t.Errorf("%s: DRAIN_DELAY %v is shorter than what %s needs to stop calling it: DNS TTL %v + DISCOVERY_INTERVAL %v + 1s",
					callee, drain, caller, dnsTTL, interval)
			}
		}
		slices.Sort(calls[caller])
	}
	for caller, want := range contractCalls {
		if got := calls[caller]; !slices.Equal(got, append([]string{}, want...)) {
			t.Errorf("%s calls %v (its *_SERVICE_URL settings), the contract says %v", caller, got, want)
		}
	}
}

func (s *shop) checkServiceURL(raw string, target *appsv1.Deployment) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "dns+http" || u.Port() == "" || u.Path != "" || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("want dns+http://<headless Service>:<port>")
	}
	name, domain, _ := strings.Cut(u.Hostname(), ".")
	if domain != "" && (s.namespace == "" || !slices.Contains([]string{s.namespace, s.namespace + ".svc", s.namespace + ".svc.cluster.local"}, domain)) {
		return fmt.Errorf("%s: not a Service of this namespace", u.Hostname())
	}
	svc := s.service(name)
	switch {
	case svc == nil:
		return fmt.Errorf("no Service %s", name)
	case svc.Spec.ClusterIP != corev1.ClusterIPNone:
		return fmt.Errorf("Service %s is not headless (clusterIP None): its name would resolve to one virtual IP, not the instances", name)
	case svc.Spec.PublishNotReadyAddresses:
		return fmt.Errorf("Service %s publishes pods that are not ready", name)
	}
	if err := s.selectsOnly(svc.Spec.Selector, target.Name); err != nil {
		return fmt.Errorf("Service %s: %v", name, err)
	}
	port := target.Spec.Template.Spec.Containers[0].Ports[0]
	if u.Port() != fmt.Sprint(port.ContainerPort) {
		return fmt.Errorf("port %s, %s listens on %d", u.Port(), target.Name, port.ContainerPort)
	}
	for _, p := range svc.Spec.Ports {
		if fmt.Sprint(p.Port) == u.Port() && targets(p.TargetPort, p.Port, port) {
			return nil
		}
	}
	return fmt.Errorf("Service %s has no port %s to %s's %d", name, u.Port(), target.Name, port.ContainerPort)
}

// checkTimeouts: the gateway waits longer than ordersvc, so that ordersvc's
// own 503, which names the dependency, reaches the client (ordersvc answers
// within its REQUEST_TIMEOUT + 100ms).
func (s *shop) checkTimeouts(t *testing.T) {
	effective := func(service string) time.Duration {
		v, ok := literal(&s.deployments[service].Spec.Template.Spec.Containers[0], "REQUEST_TIMEOUT")
		if !ok {
			v = s.settings[service]["REQUEST_TIMEOUT"].Default
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s: REQUEST_TIMEOUT %q: %v", service, v, err)
		}
		return d
	}
	if gw, orders := effective("gateway"), effective("ordersvc"); gw <= orders+100*time.Millisecond {
		t.Errorf("the gateway's REQUEST_TIMEOUT %v is not above ordersvc's %v + 100ms", gw, orders)
	}
}

// checkGatewayService: the gateway, and only it, is reachable through a
// Service with a virtual IP; nothing else is exposed outside the cluster.
func (s *shop) checkGatewayService(t *testing.T) {
	svc := s.service("gateway")
	if svc == nil || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		t.Fatalf("want a (not headless) Service named gateway")
	}
	if err := s.selectsOnly(svc.Spec.Selector, "gateway"); err != nil {
		t.Error(err)
	}
	port := s.deployments["gateway"].Spec.Template.Spec.Containers[0].Ports[0]
	if len(svc.Spec.Ports) != 1 || !targets(svc.Spec.Ports[0].TargetPort, svc.Spec.Ports[0].Port, port) {
		t.Errorf("ports %+v, want one to the gateway's %d", svc.Spec.Ports, port.ContainerPort)
	}
	for _, other := range s.Services {
		if other.Name != "gateway" && (other.Spec.Type == corev1.ServiceTypeNodePort || other.Spec.Type == corev1.ServiceTypeLoadBalancer) {
			t.Errorf("Service %s is %s: only the gateway takes outside traffic", other.Name, other.Spec.Type)
		}
		if len(other.Spec.Selector) == 0 || len(s.selected(other.Spec.Selector)) != 1 {
			t.Errorf("Service %s selects %v: want the pods of one workload", other.Name, s.selected(other.Spec.Selector))
		}
	}
}

// checkDisruption: one PodDisruptionBudget per Deployment that lets a node
// drain go on (one pod at a time) without taking all of a service away.
func (s *shop) checkDisruption(t *testing.T) {
	for _, name := range cli.ServiceNames() {
		var found int
		for _, pdb := range s.PDBs {
			if !selects(pdb.Spec.Selector.MatchLabels, s.deployments[name].Spec.Template.Labels) {
				continue
			}
			found++
			if err := s.selectsOnly(pdb.Spec.Selector.MatchLabels, name); err != nil || len(pdb.Spec.Selector.MatchExpressions) > 0 {
				t.Errorf("PodDisruptionBudget %s: %v", pdb.Name, err)
			}
			r := int(*s.deployments[name].Spec.Replicas)
			var allowed int
			switch {
			case pdb.Spec.MaxUnavailable != nil && pdb.Spec.MinAvailable == nil:
				allowed, _ = intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MaxUnavailable, r, true)
			case pdb.Spec.MinAvailable != nil && pdb.Spec.MaxUnavailable == nil:
				min, _ := intstr.GetScaledValueFromIntOrPercent(pdb.Spec.MinAvailable, r, true)
				allowed = r - min
			default:
				t.Errorf("PodDisruptionBudget %s: want one of maxUnavailable and minAvailable", pdb.Name)
			}
			if allowed < 1 || (r > 1 && allowed >= r) {
				t.Errorf("PodDisruptionBudget %s allows %d of %d pods down: want at least one, and with more than one pod not all", pdb.Name, allowed, r)
			}
		}
		if found != 1 {
			t.Errorf("%s: %d PodDisruptionBudgets, want 1", name, found)
		}
	}
	if len(s.PDBs) != len(s.deployments) {
		t.Errorf("%d PodDisruptionBudgets for %d Deployments", len(s.PDBs), len(s.deployments))
	}
}

// checkAutoscaling: where the overlay autoscales, one CPU autoscaler per
// Deployment, starting from the Deployment's replicas.
func (s *shop) checkAutoscaling(t *testing.T) {
	if !s.autoscaled {
		if len(s.HPAs) > 0 {
			t.Errorf("%d HorizontalPodAutoscalers, want none here", len(s.HPAs))
		}
		return
	}
	targeted := map[string]int{}
	for _, h := range s.HPAs {
		ref := h.Spec.ScaleTargetRef
		d, ok := s.deployments[ref.Name]
		if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || !ok {
			t.Errorf("HorizontalPodAutoscaler %s targets %+v, not a Deployment of ours", h.Name, ref)
			continue
		}
		targeted[ref.Name]++
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas != *d.Spec.Replicas || h.Spec.MaxReplicas <= *h.Spec.MinReplicas {
			t.Errorf("HorizontalPodAutoscaler %s: min %v max %d, want min = the Deployment's replicas (%d) < max",
				h.Name, show(h.Spec.MinReplicas), h.Spec.MaxReplicas, *d.Spec.Replicas)
		}
		cpu := slices.IndexFunc(h.Spec.Metrics, func(m autoscalingMetric) bool {
			return m.Resource != nil && m.Resource.Name == corev1.ResourceCPU && m.Resource.Target.AverageUtilization != nil &&
				*m.Resource.Target.AverageUtilization > 0 && *m.Resource.Target.AverageUtilization <= 100
		})
		if cpu < 0 {
			t.Errorf("HorizontalPodAutoscaler %s: want a CPU utilization target (of the containers' requests)", h.Name)
		}
	}
	for _, name := range cli.ServiceNames() {
		if targeted[name] != 1 {
			t.Errorf("%s: %d HorizontalPodAutoscalers, want 1", name, targeted[name])
		}
	}
}

// service is the Service of that name, or nil.
func (s *shop) service(name string) *corev1.Service {
	for _, svc := range s.Services {
		if svc.Name == name {
			return svc
		}
	}
	return nil
}

// selected names the workloads whose pods a selector matches.
func (s *shop) selected(selector map[string]string) []string {
	var names []string
	for _, w := range s.workloads() {
		if selects(selector, w.labels) {
			names = append(names, w.name)
		}
	}
	return names
}

func (s *shop) selectsOnly(selector map[string]string, workload string) error {
	if got := s.selected(selector); !slices.Equal(got, []string{workload}) {
		return fmt.Errorf("selector %v matches the pods of %v, want %s's only", selector, got, workload)
	}
	return nil
}

// targets reports whether a Service port's targetPort reaches the container
// port (an unset targetPort is the port itself).
func targets(target intstr.IntOrString, servicePort int32, cp corev1.ContainerPort) bool {
	switch {
	case target.Type == intstr.String:
		return target.StrVal == cp.Name
	case target.IntVal == 0:
		return servicePort == cp.ContainerPort
	}
	return target.IntVal == cp.ContainerPort
}

func isServiceURL(e corev1.EnvVar) bool { return strings.HasSuffix(e.Name, "_SERVICE_URL") }

type autoscalingMetric = autoscalingv2.MetricSpec

func mustLiteral(c *corev1.Container, name string) string {
	v, _ := literal(c, name)
	return v
}

// show prints what a pointer points to, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

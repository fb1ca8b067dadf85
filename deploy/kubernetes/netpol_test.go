package kubernetes_test

import (
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// peer is one end of a connection: a pod (of one of our workloads, or a
// stand-in for a pod elsewhere in the cluster) or an address outside it.
type peer struct {
	name      string
	namespace string
	nsLabels  map[string]string
	labels    map[string]string
	ip        netip.Addr // set for an address outside the cluster
	ports     []corev1.ContainerPort
	ours      bool // one of the overlay's workloads, subject to its policies
}

func (p peer) outside() bool { return p.ip.IsValid() }

func namespaceLabels(ns string) map[string]string {
	return map[string]string{"kubernetes.io/metadata.name": ns}
}

// checkNetworkPolicies evaluates the policies as the API defines them for
// every pair of peers and every port the destination listens on, and
// compares the outcome with what the services need, no more:
//
//	anything but our other pods (any address, any namespace) -> gateway
//	the contract's calls (gateway -> all, ordersvc -> usersvc, productsvc, productsvc -> usersvc)
//	a service with a DATABASE_URL -> PostgreSQL (5432, in the cluster or outside)
//	every pod -> the cluster DNS
//
// ipBlock peers are taken to match addresses outside the cluster only (for
// pod addresses their effect depends on the network plugin).
func (s *shop) checkNetworkPolicies(t *testing.T) {
	ns := s.namespace
	if ns == "" {
		ns = "default"
	}
	var ours []peer
	owners := map[string]bool{} // of a database
	for _, w := range s.workloads() {
		p := peer{name: w.name, namespace: s.namespace, nsLabels: namespaceLabels(ns), labels: w.labels, ours: true}
		for _, c := range w.spec.Containers {
			p.ports = append(p.ports, c.Ports...)
			for _, e := range c.Env {
				owners[w.name] = owners[w.name] || e.Name == "DATABASE_URL"
			}
		}
		ours = append(ours, p)
	}
	tcp := func(port int32) []corev1.ContainerPort {
		return []corev1.ContainerPort{{ContainerPort: port, Protocol: corev1.ProtocolTCP}}
	}
	dns := peer{name: "kube-dns", namespace: "kube-system", nsLabels: namespaceLabels("kube-system"),
		labels: map[string]string{"k8s-app": "kube-dns"},
		ports:  []corev1.ContainerPort{{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}, {Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}}}
	ingress := peer{name: "ingress-controller", namespace: "ingress-nginx", nsLabels: namespaceLabels("ingress-nginx"),
		labels: map[string]string{nameLabel: "ingress-nginx"}, ports: tcp(443)}
	// A pod of another namespace labelled as ordersvc must get no further
	// than any stranger.
	impostor := peer{name: "impostor", namespace: "elsewhere", nsLabels: namespaceLabels("elsewhere"),
		labels: map[string]string{nameLabel: "ordersvc"}}
	client := peer{name: "client", ip: netip.MustParseAddr("198.51.100.7")}
	externalDB := peer{name: "external-postgres", ip: netip.MustParseAddr("203.0.113.5"), ports: tcp(5432)}
	web := peer{name: "external-web", ip: netip.MustParseAddr("203.0.113.80"), ports: tcp(443)}

	want := map[string]bool{}
	allow := func(from, to string, port int32, proto corev1.Protocol) {
		want[fmt.Sprintf("%s -> %s:%d/%s", from, to, port, proto)] = true
	}
	for caller, callees := range contractCalls {
		for _, callee := range callees {
			allow(caller, callee, contractPort[callee], corev1.ProtocolTCP)
		}
	}
	strangers := []peer{dns, ingress, impostor, client, externalDB, web}
	for _, from := range strangers {
		allow(from.name, "gateway", contractPort["gateway"], corev1.ProtocolTCP)
	}
	for _, p := range ours {
		allow(p.name, "kube-dns", 53, corev1.ProtocolUDP)
		allow(p.name, "kube-dns", 53, corev1.ProtocolTCP)
		if owners[p.name] {
			allow(p.name, "external-postgres", 5432, corev1.ProtocolTCP)
			if s.devDatabase {
				allow(p.name, "postgres", 5432, corev1.ProtocolTCP)
			}
		}
	}

	all := append(strangers, ours...)
	for _, from := range all {
		for _, to := range all {
			if !from.ours && !to.ours {
				continue
			}
			for _, port := range to.ports {
				proto := port.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				key := fmt.Sprintf("%s -> %s:%d/%s", from.name, to.name, port.ContainerPort, proto)
				got := s.admits(networkingv1.PolicyTypeEgress, from, to, port) &&
					s.admits(networkingv1.PolicyTypeIngress, to, from, port)
				switch {
				case got && !want[key]:
					t.Errorf("%s is allowed, and should not be", key)
				case !got && want[key]:
					t.Errorf("%s is denied, and is needed", key)
				}
				delete(want, key)
			}
		}
	}
	for key := range want {
		t.Errorf("%s: needed, but one end is missing (no such workload or port)", key)
	}
}

// admits reports whether the policies on the pod at let it exchange
// traffic with other in the direction dir (Egress: at sends, Ingress: at
// receives) on port, a port of the destination. A pod no policy isolates admits all.
func (s *shop) admits(dir networkingv1.PolicyType, at, other peer, port corev1.ContainerPort) bool {
	if !at.ours {
		return true
	}
	isolated := false
	for _, pol := range s.Policies {
		if !hasPolicyType(pol, dir) || !matchesSelector(&pol.Spec.PodSelector, at.labels) {
			continue
		}
		isolated = true
		if dir == networkingv1.PolicyTypeIngress {
			for _, r := range pol.Spec.Ingress {
				if peersMatch(r.From, pol.Namespace, other) && portsMatch(r.Ports, port) {
					return true
				}
			}
		} else {
			for _, r := range pol.Spec.Egress {
				if peersMatch(r.To, pol.Namespace, other) && portsMatch(r.Ports, port) {
					return true
				}
			}
		}
	}
	return !isolated
}

// hasPolicyType applies the API's default: Ingress always, Egress when
// there are egress rules.
func hasPolicyType(pol *networkingv1.NetworkPolicy, dir networkingv1.PolicyType) bool {
	types := pol.Spec.PolicyTypes
	if len(types) == 0 {
		types = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(pol.Spec.Egress) > 0 {
			types = append(types, networkingv1.PolicyTypeEgress)
		}
	}
	for _, t := range types {
		if t == dir {
			return true
		}
	}
	return false
}

func peersMatch(peers []networkingv1.NetworkPolicyPeer, policyNamespace string, p peer) bool {
	if len(peers) == 0 {
		return true
	}
	for _, np := range peers {
		if np.IPBlock != nil {
			if p.outside() && inBlock(np.IPBlock, p.ip) {
				return true
			}
			continue
		}
		if p.outside() {
			continue
		}
		nsOK := p.namespace == policyNamespace
		if np.NamespaceSelector != nil {
			nsOK = matchesSelector(np.NamespaceSelector, p.nsLabels)
		}
		if nsOK && (np.PodSelector == nil || matchesSelector(np.PodSelector, p.labels)) {
			return true
		}
	}
	return false
}

func inBlock(b *networkingv1.IPBlock, ip netip.Addr) bool {
	cidr, err := netip.ParsePrefix(b.CIDR)
	if err != nil || !cidr.Contains(ip) {
		return false
	}
	for _, e := range b.Except {
		if ex, err := netip.ParsePrefix(e); err == nil && ex.Contains(ip) {
			return false
		}
	}
	return true
}

// portsMatch: a named port is the destination's port of that name.
func portsMatch(ports []networkingv1.NetworkPolicyPort, port corev1.ContainerPort) bool {
	if len(ports) == 0 {
		return true
	}
	for _, np := range ports {
		proto, want := corev1.ProtocolTCP, port.Protocol
		if np.Protocol != nil {
			proto = *np.Protocol
		}
		if want == "" {
			want = corev1.ProtocolTCP
		}
		switch {
		case proto != want:
		case np.Port == nil:
			return true
		case np.Port.Type == intstr.String:
			if np.Port.StrVal == port.Name {
				return true
			}
		case np.EndPort != nil:
			if port.ContainerPort >= np.Port.IntVal && port.ContainerPort <= *np.EndPort {
				return true
			}
		case np.Port.IntVal == port.ContainerPort:
			return true
		}
	}
	return false
}

func matchesSelector(sel *metav1.LabelSelector, set map[string]string) bool {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	return err == nil && selector.Matches(labels.Set(set))
}

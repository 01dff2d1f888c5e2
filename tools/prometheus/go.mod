// The Prometheus server of the cluster tests (scripts/tools.sh builds github.com/prometheus/prometheus/cmd/prometheus
// from this module): Debian's prometheus package has no Kubernetes service discovery (removed by Debian, see its
// NEWS.Debian for 1.5.0+ds-1), which the tests use. Same version as Debian's promtool (2.42 = module v0.42.0); the
// replace directives are the module's own (go install pkg@version refuses modules that have them).
module wacloud.io/tools/prometheus

go 1.24

require github.com/prometheus/prometheus v0.42.0

replace (
	k8s.io/klog => github.com/simonpasquier/klog-gokit v0.3.0
	k8s.io/klog/v2 => github.com/simonpasquier/klog-gokit/v3 v3.0.0
)

exclude github.com/linode/linodego v1.0.0

exclude (
	github.com/grpc-ecosystem/grpc-gateway v1.14.7
	google.golang.org/api v0.30.0
)

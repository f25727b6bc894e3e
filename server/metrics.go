package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trtcd/trtcd/cluster"
	"github.com/trtcd/trtcd/internal/limit"
	"github.com/trtcd/trtcd/internal/panics"
)

// registry is what /metrics exports.
func (s *Server) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		s.metrics,
		s.bframes,
		panics.Total,
		limit.Refused,
		limit.AcceptRetries,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "trtcd_build_info",
			Help:        "Always 1; the version label says which trtcd runs.",
			ConstLabels: prometheus.Labels{"version": s.cfg.Version},
		}, func() float64 { return 1 }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trtcd_apps_configured",
			Help: "Number of applications (sdkAppIds) this server serves.",
		}, func() float64 { return float64(s.cfg.Apps.Len()) }),
		cluster.NewCollector(s.Cluster), // trtcd_cluster_*; nothing while single (the node starts after the routes are built)
	)
	return reg
}

//go:build tools

// Package tools pins the promtool command that checks the chart's PrometheusRule (Prometheus v3.11.0 is Go module
// version v0.311.0: its v3 tags are not Go-module compatible).
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"

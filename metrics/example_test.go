package metrics_test

import (
	"bufio"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sesamego/sesame"
	"github.com/sesamego/sesame/metrics"
)

func Example() {
	reg := prometheus.NewRegistry()
	met, err := metrics.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	sessions, err := sesame.New(sesame.Config{
		OnEvent:      met.Observe,
		ErrorHandler: met.ErrorHandler(nil),
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		sesame.From(r).Put("cart", []string{"tea"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	app := met.Handler(sessions.Handler(mux))

	app.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "https://shop.example/cart", nil))

	// What Prometheus scrapes.
	w := httptest.NewRecorder()
	app.ServeHTTP(w, httptest.NewRequest("GET", "https://shop.example/metrics", nil))
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "sesame_sessions_created_total") ||
			strings.HasPrefix(line, `sesame_store_operations_total{op="apply",outcome="ok"}`) {
			fmt.Println(line)
		}
	}
	// Output:
	// sesame_sessions_created_total 1
	// sesame_store_operations_total{op="apply",outcome="ok"} 1
}

// A CSRF protector and a remember-me manager report their failures through
// hooks the metrics provide.
func ExampleMetrics_CSRFErrorHandler() {
	met, err := metrics.New(prometheus.NewRegistry())
	if err != nil {
		log.Fatal(err)
	}
	_ = met.CSRFErrorHandler(nil) // csrf.Config{ErrorHandler: met.CSRFErrorHandler(nil)}
	_ = met.OnRememberTheft       // remember.Config{OnTheft: met.OnRememberTheft}
	fmt.Println(metrics.CSRFReason(fmt.Errorf("wrapped: %w", sesame.ErrStoreUnavailable)))
	// Output:
	// store_unavailable
}

package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// The bare endpoint is the HTTP limit verify is measured against: a Fiber
// app doing only what no verify can avoid — read the body, bind the same
// JSON, write the same JSON answer — in a process of its own, as the
// server is. Verify's throughput and latency are printed as ratios of its.

// bareRequest is verify's body (docs/api/external.md#verify).
type bareRequest struct {
	ProductID   string `json:"product_id"`
	LicenseData string `json:"license_data"`
	LicenseFile string `json:"license_file"`
	LicenseCode string `json:"license_code"`
	ClientName  string `json:"client_name"`
}

// bareResponse is verify's success answer.
type bareResponse struct {
	Status   bool    `json:"status"`
	IsActive bool    `json:"is_active"`
	Message  string  `json:"message"`
	Data     *string `json:"data"`
}

// runBareServer is the -bare-server process: it serves the bare endpoint
// on a loopback port, which it prints, until killed.
func runBareServer() error {
	app := fiber.New()
	app.Post("/verify", func(c fiber.Ctx) error {
		var req bareRequest
		if err := c.Bind().JSON(&req); err != nil {
			return err
		}
		return c.JSON(bareResponse{Status: true, IsActive: true, Message: "Verified."})
	})
	app.Get("/api/health-check", func(c fiber.Ctx) error { return c.SendString("ok") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	return app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
}

// startBareServer starts this program as the bare endpoint's process.
func startBareServer(conns int) (*exec.Cmd, *fasthttp.HostClient, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, "", err
	}
	cmd := exec.Command(self, "-bare-server")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, "", err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, "", err
	}
	var addr string
	if _, err := fmt.Fscanln(out, &addr); err != nil {
		stopBareServer(cmd)
		return nil, nil, "", fmt.Errorf("bare endpoint: %w", err)
	}
	hc := newHostClient(addr, conns)
	if err := waitHealthy(apiClient{hc: hc}, 10*time.Second); err != nil {
		stopBareServer(cmd)
		return nil, nil, "", errors.New("bare endpoint did not answer")
	}
	return cmd, hc, "http://" + addr, nil
}

// stopBareServer kills the bare endpoint's process, which has nothing to
// finish: an interrupt would not end it when bench/load was started with
// SIGINT ignored (a shell's background job), as its children then are.
func stopBareServer(cmd *exec.Cmd) { _ = cmd.Process.Kill(); _ = cmd.Wait() }

// csi-registrar registers a CSI driver with the kubelet, as
// node-driver-registrar does, for the CSI e2e test: the Go module proxy here
// refuses every version of node-driver-registrar tried (403), so this stands
// in for it. It serves the kubelet's plugin registration API (the kubelet's
// own generated package, k8s.io/kubelet/pkg/apis/pluginregistration/v1) on a
// socket in the kubelet's plugins_registry directory: GetInfo names the
// driver and its CSI endpoint, and the kubelet then talks to the driver
// itself.
//
//	csi-registrar -registration-socket PATH -driver-name NAME -driver-endpoint PATH
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

type registrar struct {
	registerapi.UnimplementedRegistrationServer
	name, endpoint string
}

func (r *registrar) GetInfo(context.Context, *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	return &registerapi.PluginInfo{Type: registerapi.CSIPlugin, Name: r.name, Endpoint: r.endpoint, SupportedVersions: []string{"1.0.0"}}, nil
}

func (r *registrar) NotifyRegistrationStatus(_ context.Context, status *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	if !status.PluginRegistered {
		log.Printf("the kubelet refused the registration: %s", status.Error)
		os.Exit(1)
	}
	log.Printf("registered %s with the kubelet", r.name)
	return &registerapi.RegistrationStatusResponse{}, nil
}

func main() {
	socket := flag.String("registration-socket", "", "the socket in the kubelet's plugins_registry directory")
	name := flag.String("driver-name", "", "the CSI driver's name")
	endpoint := flag.String("driver-endpoint", "", "the driver's CSI socket, as the kubelet reaches it")
	flag.Parse()
	_ = os.Remove(*socket)
	listener, err := net.Listen("unix", *socket)
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer()
	registerapi.RegisterRegistrationServer(server, &registrar{name: *name, endpoint: *endpoint})
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		server.Stop()
		_ = os.Remove(*socket)
	}()
	if err := server.Serve(listener); err != nil {
		log.Fatal(err)
	}
}

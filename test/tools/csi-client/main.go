// csi-client calls a Secrets Store CSI driver provider plugin the way the
// driver does: over its unix socket, with the driver's own generated client
// (sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1). The tests use it
// to check the plugin against the driver's proto, not ours.
//
//	csi-client -socket PATH version
//	csi-client -socket PATH -attributes JSON [-permission 420] mount
//
// and, as the kubelet calls the driver itself (its CSI node service, from
// the CSI spec's Go bindings):
//
//	csi-client -socket DRIVER -attributes VOLUME_CONTEXT -target DIR publish
//	csi-client -socket DRIVER -target DIR unpublish
//
// It prints the response as JSON (file contents base64), or the gRPC status
// as {"code": ..., "message": ...} and exits 3.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	csi "github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"
)

func main() {
	socket := flag.String("socket", "", "the plugin's unix socket")
	attributes := flag.String("attributes", "{}", "MountRequest.attributes (JSON)")
	permission := flag.String("permission", "420", "MountRequest.permission (decimal)")
	timeout := flag.Duration("timeout", 60*time.Second, "deadline of the call")
	target := flag.String("target", "", "publish, unpublish: the volume's target path")
	flag.Parse()
	conn, err := grpc.NewClient("unix://"+*socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail(err)
	}
	defer conn.Close()
	client := v1alpha1.NewCSIDriverProviderClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	var out any
	switch flag.Arg(0) {
	case "version":
		out, err = client.Version(ctx, &v1alpha1.VersionRequest{Version: "v1alpha1"})
	case "mount":
		out, err = client.Mount(ctx, &v1alpha1.MountRequest{Attributes: *attributes, Secrets: "{}", TargetPath: "/tmp/unused", Permission: *permission})
	case "publish":
		var volumeContext map[string]string
		if err = json.Unmarshal([]byte(*attributes), &volumeContext); err != nil {
			fail(err)
		}
		out, err = csi.NewNodeClient(conn).NodePublishVolume(ctx, &csi.NodePublishVolumeRequest{
			VolumeId:         "csi-" + volumeContext["csi.storage.k8s.io/pod.uid"],
			TargetPath:       *target,
			VolumeCapability: &csi.VolumeCapability{AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}}, AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_READER_ONLY}},
			Readonly:         true,
			VolumeContext:    volumeContext,
		})
	case "unpublish":
		out, err = csi.NewNodeClient(conn).NodeUnpublishVolume(ctx, &csi.NodeUnpublishVolumeRequest{VolumeId: "unused", TargetPath: *target})
	default:
		fail(fmt.Errorf("usage: csi-client -socket PATH version|mount|publish|unpublish"))
	}
	if err != nil {
		s, _ := status.FromError(err)
		_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"code": s.Code().String(), "message": s.Message()})
		os.Exit(3)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

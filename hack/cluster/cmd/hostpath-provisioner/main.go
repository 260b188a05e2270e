// Command hostpath-provisioner gives the local cluster dynamic volumes: for
// each pending claim of its StorageClass it makes a directory under --root
// and a `local` PersistentVolume pinned to the node; when a released volume's
// reclaim policy is Delete it removes the directory and the volume.
//
// Each node runs its own, as a node-local provisioner would: it answers only
// claims the scheduler placed on its node (annotation selected-node) and only
// volumes pinned to its node, so a stopped node's volumes wait for it.
// Claims of an Immediate class have no node: only the provisioner started
// with --unselected (the first node's) takes them.
//
// It runs outside the cluster, next to its node's kubelet (on the host for
// the first node, in an extra node's namespaces for the others), so it works
// on the directories directly; a provisioner running in the cluster would
// need a helper pod per volume (local-path-provisioner does), which costs
// seconds and an image.
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"syscall"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/record"
)

func main() {
	var p provisioner
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the provisioner's identity")
	flag.StringVar(&p.name, "name", "", "provisioner name, as in the StorageClass")
	flag.StringVar(&p.root, "root", "", "directory holding one sub-directory per volume")
	flag.StringVar(&p.node, "node", "", "name of the node the directories are on")
	flag.BoolVar(&p.unselected, "unselected", true, "also provision claims no node was selected for (Immediate binding)")
	flag.Parse()
	if *kubeconfig == "" || p.name == "" || p.root == "" || p.node == "" {
		flag.Usage()
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(p.root, 0o711); err != nil {
		log.Fatal(err)
	}
	p.client = kubernetes.NewForConfigOrDie(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	events := record.NewBroadcaster(record.WithContext(ctx))
	events.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: p.client.CoreV1().Events("")})
	defer events.Shutdown()
	p.events = events.NewRecorder(scheme.Scheme, v1.EventSource{Component: p.name})

	f := informers.NewSharedInformerFactory(p.client, 5*time.Minute)
	p.claims = f.Core().V1().PersistentVolumeClaims().Lister()
	p.volumes = f.Core().V1().PersistentVolumes().Lister()
	p.classes = f.Storage().V1().StorageClasses().Lister()
	p.queue = newQueue()
	p.watch(f)
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	log.Printf("provisioning %s volumes under %s on node %s", p.name, p.root, p.node)
	p.run(ctx)
	f.Shutdown()
}

// watch queues claims that may need a volume and volumes that may need deleting.
func (p *provisioner) watch(f informers.SharedInformerFactory) {
	claim := func(obj any) {
		if k, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			p.queue.add(claimKey + k)
		}
	}
	_, _ = f.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    claim,
		UpdateFunc: func(_, obj any) { claim(obj) },
	})
	volume := func(obj any) {
		if pv, ok := obj.(*v1.PersistentVolume); ok && p.owns(pv) {
			p.queue.add(volumeKey + pv.Name)
		}
	}
	_, _ = f.Core().V1().PersistentVolumes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    volume,
		UpdateFunc: func(_, obj any) { volume(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			// Someone deleted the volume object itself: unless it was to be
			// retained, its data goes too.
			if pv, ok := obj.(*v1.PersistentVolume); ok && p.owns(pv) &&
				pv.Spec.PersistentVolumeReclaimPolicy == v1.PersistentVolumeReclaimDelete {
				if err := p.removeDir(pv); err != nil {
					log.Print(err)
				}
			}
		},
	})
}

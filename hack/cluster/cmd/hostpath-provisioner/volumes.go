package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/record"
)

const (
	annProvisionedBy = "pv.kubernetes.io/provisioned-by"
	annSelectedNode  = "volume.kubernetes.io/selected-node"
)

type provisioner struct {
	name, root, node string
	unselected       bool // take claims without a selected node

	client  kubernetes.Interface
	events  record.EventRecorder
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	classes storagelisters.StorageClassLister
	queue   *queue
}

// owns: volumes of our class pinned to our node (another node's
// provisioner deletes the others, in that node's directory).
func (p *provisioner) owns(pv *v1.PersistentVolume) bool {
	return pv.Annotations[annProvisionedBy] == p.name && pv.Spec.Local != nil && volumeNode(pv) == p.node
}

// volumeNode: the hostname a local volume is pinned to ("" if none or several).
func volumeNode(pv *v1.PersistentVolume) string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return ""
	}
	terms := pv.Spec.NodeAffinity.Required.NodeSelectorTerms
	if len(terms) != 1 || len(terms[0].MatchExpressions) != 1 {
		return ""
	}
	e := terms[0].MatchExpressions[0]
	if e.Key != v1.LabelHostname || e.Operator != v1.NodeSelectorOpIn || len(e.Values) != 1 {
		return ""
	}
	return e.Values[0]
}

// syncClaim creates the volume of a pending claim of our class. The volume
// names its claim, and the PV controller completes the binding.
func (p *provisioner) syncClaim(ctx context.Context, key string) error {
	ns, name, _ := strings.Cut(key, "/")
	pvc, err := p.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pvc.Spec.VolumeName != "" || pvc.Status.Phase != v1.ClaimPending || pvc.DeletionTimestamp != nil {
		return nil
	}
	if pvc.Spec.StorageClassName == nil {
		return nil
	}
	sc, err := p.classes.Get(*pvc.Spec.StorageClassName)
	if err != nil || sc.Provisioner != p.name {
		return nil // not ours, or the class is gone
	}
	// With WaitForFirstConsumer the scheduler names the node; wait for that.
	node, picked := pvc.Annotations[annSelectedNode]
	waits := sc.VolumeBindingMode != nil && *sc.VolumeBindingMode == "WaitForFirstConsumer"
	if (waits && !picked) || (picked && node != p.node) || (!picked && !p.unselected) {
		return nil
	}
	if pvc.Spec.DataSource != nil || pvc.Spec.DataSourceRef != nil {
		p.events.Event(pvc, v1.EventTypeWarning, "ProvisioningFailed", "volume data sources are not supported")
		return nil
	}
	if pvc.Spec.VolumeMode != nil && *pvc.Spec.VolumeMode == v1.PersistentVolumeBlock {
		p.events.Event(pvc, v1.EventTypeWarning, "ProvisioningFailed", "block volumes are not supported")
		return nil
	}

	pvName := "pvc-" + string(pvc.UID)
	dir := filepath.Join(p.root, pvName+"_"+pvc.Namespace+"_"+pvc.Name)
	// Root-owned 0755, like a freshly formatted disk: pods write to it through
	// fsGroup (kubelet applies it to local volumes), as on a real cluster.
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if sc.ReclaimPolicy != nil {
		reclaim = *sc.ReclaimPolicy
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{
			Name:        pvName,
			Annotations: map[string]string{annProvisionedBy: p.name},
		},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: pvc.Spec.Resources.Requests[v1.ResourceStorage]},
			AccessModes:                   pvc.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: reclaim,
			StorageClassName:              sc.Name,
			MountOptions:                  sc.MountOptions,
			ClaimRef: &v1.ObjectReference{
				APIVersion: "v1", Kind: "PersistentVolumeClaim",
				Namespace: pvc.Namespace, Name: pvc.Name, UID: pvc.UID,
			},
			PersistentVolumeSource: v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{p.node},
				}},
			}}}},
		},
	}
	_, err = p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	log.Printf("created %s for %s/%s at %s", pvName, pvc.Namespace, pvc.Name, dir)
	p.events.Eventf(pvc, v1.EventTypeNormal, "ProvisioningSucceeded", "created volume %s", pvName)
	return nil
}

// syncVolume deletes a released volume whose policy is Delete: data first,
// then the object, so a failure leaves the object to retry with.
func (p *provisioner) syncVolume(ctx context.Context, name string) error {
	pv, err := p.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if pv.Status.Phase != v1.VolumeReleased || pv.Spec.PersistentVolumeReclaimPolicy != v1.PersistentVolumeReclaimDelete || pv.DeletionTimestamp != nil {
		return nil
	}
	if err := p.removeDir(pv); err != nil {
		return err
	}
	err = p.client.CoreV1().PersistentVolumes().Delete(ctx, pv.Name, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &pv.UID},
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	log.Printf("deleted %s", pv.Name)
	return nil
}

// removeDir deletes a volume's directory, refusing anything not directly under root.
func (p *provisioner) removeDir(pv *v1.PersistentVolume) error {
	dir := filepath.Clean(pv.Spec.Local.Path)
	if filepath.Dir(dir) != filepath.Clean(p.root) || !strings.HasPrefix(filepath.Base(dir), pv.Name+"_") {
		return fmt.Errorf("%s: refusing to remove %s, not a directory this provisioner made", pv.Name, dir)
	}
	return os.RemoveAll(dir)
}

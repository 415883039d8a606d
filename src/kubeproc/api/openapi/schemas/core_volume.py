"""Schemas of core/v1 pod volumes: the Volume union and every volume source,
including projections and the ephemeral PersistentVolumeClaim template.

The in-tree cloud and network sources are deprecated upstream but still part of the API,
so strict field validation accepts them; their descriptions are kept short.

Field names, types, required lists and list/patch markers are the facts of k8s.io/api at
v1.33 (the version kubeproc reports); the descriptions are kubeproc's own words. Order
follows the types top-down, a kind first and the types it uses after it.
"""

from __future__ import annotations

from kubeproc.api.openapi.dsl import (
    BOOL,
    INT32,
    INT64,
    QUANTITY,
    STRING,
    Package,
    Schema,
    enum,
    f,
    list_of,
    map_of,
)

core = Package("io.k8s.api.core.v1")
meta = Package("io.k8s.apimachinery.pkg.apis.meta.v1")


SCHEMAS: tuple[Schema, ...] = (
    core.struct(
        "Volume",
        "A named volume in a pod that containers can mount. Set exactly one source field "
        "besides name.",
        [
            f("name", STRING, "Volume name, a DNS label unique within the pod."),
            f(
                "hostPath",
                core.ref("HostPathVolumeSource"),
                "A file or directory on the node. For system agents; most pods should not use it.",
            ),
            f(
                "emptyDir",
                core.ref("EmptyDirVolumeSource"),
                "An empty directory that lives as long as the pod.",
            ),
            f(
                "gcePersistentDisk",
                core.ref("GCEPersistentDiskVolumeSource"),
                "Deprecated: a GCE persistent disk.",
            ),
            f(
                "awsElasticBlockStore",
                core.ref("AWSElasticBlockStoreVolumeSource"),
                "Deprecated: an AWS EBS volume.",
            ),
            f(
                "gitRepo",
                core.ref("GitRepoVolumeSource"),
                "Deprecated: a git repository cloned into an empty directory.",
            ),
            f("secret", core.ref("SecretVolumeSource"), "The keys of a Secret, as files."),
            f("nfs", core.ref("NFSVolumeSource"), "An NFS share."),
            f("iscsi", core.ref("ISCSIVolumeSource"), "An iSCSI disk."),
            f("glusterfs", core.ref("GlusterfsVolumeSource"), "Deprecated: a GlusterFS volume."),
            f(
                "persistentVolumeClaim",
                core.ref("PersistentVolumeClaimVolumeSource"),
                "The volume bound to a PersistentVolumeClaim in the pod's namespace.",
            ),
            f("rbd", core.ref("RBDVolumeSource"), "Deprecated: a Ceph RBD image."),
            f(
                "flexVolume",
                core.ref("FlexVolumeSource"),
                "Deprecated: a volume provided by a FlexVolume driver.",
            ),
            f("cinder", core.ref("CinderVolumeSource"), "Deprecated: an OpenStack Cinder volume."),
            f("cephfs", core.ref("CephFSVolumeSource"), "Deprecated: a CephFS mount."),
            f("flocker", core.ref("FlockerVolumeSource"), "Deprecated: a Flocker dataset."),
            f(
                "downwardAPI",
                core.ref("DownwardAPIVolumeSource"),
                "Pod and container information, as files.",
            ),
            f("fc", core.ref("FCVolumeSource"), "A Fibre Channel disk."),
            f("azureFile", core.ref("AzureFileVolumeSource"), "Deprecated: an Azure File share."),
            f("configMap", core.ref("ConfigMapVolumeSource"), "The keys of a ConfigMap, as files."),
            f(
                "vsphereVolume",
                core.ref("VsphereVirtualDiskVolumeSource"),
                "Deprecated: a vSphere disk.",
            ),
            f("quobyte", core.ref("QuobyteVolumeSource"), "Deprecated: a Quobyte volume."),
            f("azureDisk", core.ref("AzureDiskVolumeSource"), "Deprecated: an Azure data disk."),
            f(
                "photonPersistentDisk",
                core.ref("PhotonPersistentDiskVolumeSource"),
                "Deprecated: a Photon Controller disk.",
            ),
            f(
                "projected",
                core.ref("ProjectedVolumeSource"),
                "Several sources (secrets, ConfigMaps, downward API, tokens) combined in one "
                "directory.",
            ),
            f("portworxVolume", core.ref("PortworxVolumeSource"), "Deprecated: a Portworx volume."),
            f("scaleIO", core.ref("ScaleIOVolumeSource"), "Deprecated: a ScaleIO volume."),
            f("storageos", core.ref("StorageOSVolumeSource"), "Deprecated: a StorageOS volume."),
            f("csi", core.ref("CSIVolumeSource"), "An ephemeral volume provided by a CSI driver."),
            f(
                "ephemeral",
                core.ref("EphemeralVolumeSource"),
                "A volume from a PersistentVolumeClaim created for the pod and deleted with it.",
            ),
            f(
                "image",
                core.ref("ImageVolumeSource"),
                "The contents of an OCI image or artifact, mounted read-only.",
            ),
        ],
        required=("name",),
    ),
    core.struct(
        "HostPathVolumeSource",
        "A path on the node.",
        [
            f("path", STRING, "Path on the node. A symlink is followed to its target."),
            f(
                "type",
                enum(
                    "",
                    "BlockDevice",
                    "CharDevice",
                    "Directory",
                    "DirectoryOrCreate",
                    "File",
                    "FileOrCreate",
                    "Socket",
                ),
                "What must be at the path, e.g. Directory, DirectoryOrCreate, File or Socket. "
                "Empty means no check.",
            ),
        ],
        required=("path",),
    ),
    core.struct(
        "EmptyDirVolumeSource",
        "An empty directory created for the pod.",
        [
            f(
                "medium",
                STRING,
                "Storage medium: empty for the node's default storage, or Memory for a tmpfs.",
            ),
            f(
                "sizeLimit",
                QUANTITY,
                "Maximum size of the directory. Unset means no volume-specific limit.",
            ),
        ],
    ),
    core.struct(
        "GCEPersistentDiskVolumeSource",
        "Deprecated: a GCE persistent disk.",
        [
            f("pdName", STRING, "Name of the disk."),
            f("fsType", STRING, "Filesystem type."),
            f("partition", INT32, "Partition to mount."),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("pdName",),
    ),
    core.struct(
        "AWSElasticBlockStoreVolumeSource",
        "Deprecated: an AWS EBS volume.",
        [
            f("volumeID", STRING, "ID of the volume."),
            f("fsType", STRING, "Filesystem type."),
            f("partition", INT32, "Partition to mount."),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("volumeID",),
    ),
    core.struct(
        "GitRepoVolumeSource",
        "Deprecated: a git repository cloned into the volume.",
        [
            f("repository", STRING, "Repository URL."),
            f("revision", STRING, "Commit to check out."),
            f("directory", STRING, "Directory to clone into; '.' means the volume root."),
        ],
        required=("repository",),
    ),
    core.struct(
        "SecretVolumeSource",
        "A Secret whose keys become files in a volume.",
        [
            f("secretName", STRING, "Name of the Secret in the pod's namespace."),
            f(
                "items",
                list_of(core.ref("KeyToPath")),
                "Keys to project and the paths to put them at. Unset projects every key, named "
                "after the key.",
                list_type="atomic",
            ),
            f("defaultMode", INT32, "Permission bits for the files. Defaults to 0644."),
            f("optional", BOOL, "When true, a missing Secret or key is not an error."),
        ],
    ),
    core.struct(
        "KeyToPath",
        "Maps one key to a file path in a volume.",
        [
            f("key", STRING, "Key to project."),
            f(
                "path",
                STRING,
                "Relative path of the file; must not contain '..' or start with '..'.",
            ),
            f("mode", INT32, "Permission bits for this file, overriding the volume's default."),
        ],
        required=("key", "path"),
    ),
    core.struct(
        "NFSVolumeSource",
        "An NFS mount.",
        [
            f("server", STRING, "Host name or IP of the NFS server."),
            f("path", STRING, "Path exported by the server."),
            f("readOnly", BOOL, "Mount read-only. Defaults to false."),
        ],
        required=("server", "path"),
    ),
    core.struct(
        "ISCSIVolumeSource",
        "An iSCSI disk.",
        [
            f("targetPortal", STRING, "Target portal, IP or IP:port."),
            f("iqn", STRING, "Target iSCSI qualified name."),
            f("lun", INT32, "Target LUN number."),
            f("iscsiInterface", STRING, "iSCSI interface to use. Defaults to default (tcp)."),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
            f("portals", list_of(STRING), "Additional target portals.", list_type="atomic"),
            f("chapAuthDiscovery", BOOL, "Use CHAP authentication for discovery."),
            f("chapAuthSession", BOOL, "Use CHAP authentication for the session."),
            f("secretRef", core.ref("LocalObjectReference"), "Secret with the CHAP credentials."),
            f("initiatorName", STRING, "Custom initiator name."),
        ],
        required=("targetPortal", "iqn", "lun"),
    ),
    core.struct(
        "GlusterfsVolumeSource",
        "Deprecated: a GlusterFS volume.",
        [
            f("endpoints", STRING, "Endpoints object naming the Glusterfs servers."),
            f("path", STRING, "Glusterfs volume path."),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("endpoints", "path"),
    ),
    core.struct(
        "PersistentVolumeClaimVolumeSource",
        "Uses the volume bound to a claim.",
        [
            f("claimName", STRING, "Name of the PersistentVolumeClaim in the pod's namespace."),
            f("readOnly", BOOL, "Mount read-only. Defaults to false."),
        ],
        required=("claimName",),
    ),
    core.struct(
        "RBDVolumeSource",
        "Deprecated: a Ceph RBD image.",
        [
            f("monitors", list_of(STRING), "Ceph monitor addresses.", list_type="atomic"),
            f("image", STRING, "RBD image name."),
            f("fsType", STRING, "Filesystem type."),
            f("pool", STRING, "RADOS pool. Defaults to rbd."),
            f("user", STRING, "RADOS user. Defaults to admin."),
            f("keyring", STRING, "Path of the keyring file."),
            f(
                "secretRef",
                core.ref("LocalObjectReference"),
                "Secret with the authentication key; overrides keyring.",
            ),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("monitors", "image"),
    ),
    core.struct(
        "FlexVolumeSource",
        "Deprecated: a volume from a FlexVolume driver.",
        [
            f("driver", STRING, "Name of the driver."),
            f("fsType", STRING, "Filesystem type."),
            f("secretRef", core.ref("LocalObjectReference"), "Secret passed to the driver."),
            f("readOnly", BOOL, "Mount read-only."),
            f("options", map_of(STRING), "Driver-specific options."),
        ],
        required=("driver",),
    ),
    core.struct(
        "CinderVolumeSource",
        "Deprecated: an OpenStack Cinder volume.",
        [
            f("volumeID", STRING, "ID of the volume."),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
            f("secretRef", core.ref("LocalObjectReference"), "Secret with OpenStack credentials."),
        ],
        required=("volumeID",),
    ),
    core.struct(
        "CephFSVolumeSource",
        "Deprecated: a CephFS mount.",
        [
            f("monitors", list_of(STRING), "Ceph monitor addresses.", list_type="atomic"),
            f("path", STRING, "Path to mount. Defaults to /."),
            f("user", STRING, "RADOS user. Defaults to admin."),
            f("secretFile", STRING, "Path of the key file."),
            f(
                "secretRef",
                core.ref("LocalObjectReference"),
                "Secret with the authentication key; overrides secretFile.",
            ),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("monitors",),
    ),
    core.struct(
        "FlockerVolumeSource",
        "Deprecated: a Flocker dataset.",
        [
            f("datasetName", STRING, "Name of the dataset."),
            f("datasetUUID", STRING, "UUID of the dataset."),
        ],
    ),
    core.struct(
        "DownwardAPIVolumeSource",
        "Pod and container information written to files.",
        [
            f(
                "items",
                list_of(core.ref("DownwardAPIVolumeFile")),
                "Files to create.",
                list_type="atomic",
            ),
            f("defaultMode", INT32, "Permission bits for the files. Defaults to 0644."),
        ],
    ),
    core.struct(
        "DownwardAPIVolumeFile",
        "One file of pod or container information.",
        [
            f("path", STRING, "Relative path of the file."),
            f(
                "fieldRef",
                core.ref("ObjectFieldSelector"),
                "A pod field to write: metadata.name, metadata.namespace, metadata.labels or "
                "metadata.annotations.",
            ),
            f(
                "resourceFieldRef",
                core.ref("ResourceFieldSelector"),
                "A container limit or request to write.",
            ),
            f("mode", INT32, "Permission bits for this file."),
        ],
        required=("path",),
    ),
    core.struct(
        "FCVolumeSource",
        "A Fibre Channel disk.",
        [
            f("targetWWNs", list_of(STRING), "Target world wide names.", list_type="atomic"),
            f("lun", INT32, "Target LUN number."),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
            f(
                "wwids",
                list_of(STRING),
                "World wide identifiers of the volume; an alternative to targetWWNs with lun.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "AzureFileVolumeSource",
        "Deprecated: an Azure File share.",
        [
            f("secretName", STRING, "Secret with the storage account name and key."),
            f("shareName", STRING, "Share name."),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("secretName", "shareName"),
    ),
    core.struct(
        "ConfigMapVolumeSource",
        "A ConfigMap whose keys become files in a volume.",
        [
            f("name", STRING, "Name of the ConfigMap."),
            f(
                "items",
                list_of(core.ref("KeyToPath")),
                "Keys to project and the paths to put them at. Unset projects every key, named "
                "after the key.",
                list_type="atomic",
            ),
            f(
                "defaultMode",
                INT32,
                "Permission bits for the files, e.g. 0644 (octal) or 420 (decimal). Defaults to "
                "0644.",
            ),
            f("optional", BOOL, "When true, a missing ConfigMap or key is not an error."),
        ],
    ),
    core.struct(
        "VsphereVirtualDiskVolumeSource",
        "Deprecated: a vSphere disk.",
        [
            f("volumePath", STRING, "Path of the disk."),
            f("fsType", STRING, "Filesystem type."),
            f("storagePolicyName", STRING, "Storage policy name."),
            f("storagePolicyID", STRING, "Storage policy ID."),
        ],
        required=("volumePath",),
    ),
    core.struct(
        "QuobyteVolumeSource",
        "Deprecated: a Quobyte volume.",
        [
            f("registry", STRING, "Registry addresses, host:port, comma-separated."),
            f("volume", STRING, "Volume name."),
            f("readOnly", BOOL, "Mount read-only."),
            f("user", STRING, "User to map access to."),
            f("group", STRING, "Group to map access to."),
            f("tenant", STRING, "Tenant owning the volume."),
        ],
        required=("registry", "volume"),
    ),
    core.struct(
        "AzureDiskVolumeSource",
        "Deprecated: an Azure data disk.",
        [
            f("diskName", STRING, "Name of the disk."),
            f("diskURI", STRING, "URI of the disk."),
            f(
                "cachingMode",
                enum("None", "ReadOnly", "ReadWrite"),
                "Host caching mode: None, ReadOnly or ReadWrite.",
            ),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
            f(
                "kind",
                enum("Dedicated", "Managed", "Shared"),
                "Disk kind: Shared, Dedicated or Managed.",
            ),
        ],
        required=("diskName", "diskURI"),
    ),
    core.struct(
        "PhotonPersistentDiskVolumeSource",
        "Deprecated: a Photon Controller disk.",
        [
            f("pdID", STRING, "ID of the disk."),
            f("fsType", STRING, "Filesystem type."),
        ],
        required=("pdID",),
    ),
    core.struct(
        "ProjectedVolumeSource",
        "Several sources projected into one directory.",
        [
            f(
                "sources",
                list_of(core.ref("VolumeProjection")),
                "Sources to project.",
                list_type="atomic",
            ),
            f("defaultMode", INT32, "Permission bits for the files. Defaults to 0644."),
        ],
    ),
    core.struct(
        "VolumeProjection",
        "One source of a projected volume. Set exactly one field.",
        [
            f("secret", core.ref("SecretProjection"), "Keys of a Secret."),
            f("downwardAPI", core.ref("DownwardAPIProjection"), "Pod and container information."),
            f("configMap", core.ref("ConfigMapProjection"), "Keys of a ConfigMap."),
            f(
                "serviceAccountToken",
                core.ref("ServiceAccountTokenProjection"),
                "A service account token.",
            ),
            f(
                "clusterTrustBundle",
                core.ref("ClusterTrustBundleProjection"),
                "Certificates from ClusterTrustBundle objects.",
            ),
        ],
    ),
    core.struct(
        "SecretProjection",
        "A Secret projected into a volume.",
        [
            f("name", STRING, "Name of the Secret."),
            f(
                "items",
                list_of(core.ref("KeyToPath")),
                "Keys to project and their paths. Unset projects every key.",
                list_type="atomic",
            ),
            f("optional", BOOL, "When true, a missing Secret or key is not an error."),
        ],
    ),
    core.struct(
        "DownwardAPIProjection",
        "Pod and container information projected into a volume.",
        [
            f(
                "items",
                list_of(core.ref("DownwardAPIVolumeFile")),
                "Files to create.",
                list_type="atomic",
            ),
        ],
    ),
    core.struct(
        "ConfigMapProjection",
        "A ConfigMap projected into a volume.",
        [
            f("name", STRING, "Name of the ConfigMap."),
            f(
                "items",
                list_of(core.ref("KeyToPath")),
                "Keys to project and their paths. Unset projects every key.",
                list_type="atomic",
            ),
            f("optional", BOOL, "When true, a missing ConfigMap or key is not an error."),
        ],
    ),
    core.struct(
        "ServiceAccountTokenProjection",
        "A token of the pod's service account, written to a file and refreshed by the kubelet.",
        [
            f(
                "audience",
                STRING,
                "Intended audience of the token. Defaults to the API server's identifier.",
            ),
            f(
                "expirationSeconds",
                INT64,
                "Requested lifetime of the token. Defaults to 1 hour; minimum 10 minutes.",
            ),
            f("path", STRING, "Relative path of the token file."),
        ],
        required=("path",),
    ),
    core.struct(
        "ClusterTrustBundleProjection",
        "Certificates from ClusterTrustBundles, written to a file.",
        [
            f("name", STRING, "Name of a single ClusterTrustBundle to use."),
            f("signerName", STRING, "Use all ClusterTrustBundles of this signer."),
            f(
                "labelSelector",
                meta.ref("LabelSelector"),
                "With signerName, only bundles matching these labels.",
            ),
            f("optional", BOOL, "When true, missing bundles are not an error."),
            f("path", STRING, "Relative path of the file."),
        ],
        required=("path",),
    ),
    core.struct(
        "PortworxVolumeSource",
        "Deprecated: a Portworx volume.",
        [
            f("volumeID", STRING, "ID of the volume."),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("volumeID",),
    ),
    core.struct(
        "ScaleIOVolumeSource",
        "Deprecated: a ScaleIO volume.",
        [
            f("gateway", STRING, "Address of the ScaleIO API gateway."),
            f("system", STRING, "Name of the storage system."),
            f(
                "secretRef",
                core.ref("LocalObjectReference"),
                "Secret with the ScaleIO credentials.",
            ),
            f("sslEnabled", BOOL, "Use SSL to talk to the gateway."),
            f("protectionDomain", STRING, "Protection domain of the storage."),
            f("storagePool", STRING, "Storage pool of the protection domain."),
            f("storageMode", STRING, "ThickProvisioned or ThinProvisioned."),
            f("volumeName", STRING, "Name of an existing volume."),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
        ],
        required=("gateway", "system", "secretRef"),
    ),
    core.struct(
        "StorageOSVolumeSource",
        "Deprecated: a StorageOS volume.",
        [
            f("volumeName", STRING, "Name of the volume."),
            f("volumeNamespace", STRING, "StorageOS namespace of the volume."),
            f("fsType", STRING, "Filesystem type."),
            f("readOnly", BOOL, "Mount read-only."),
            f(
                "secretRef",
                core.ref("LocalObjectReference"),
                "Secret with StorageOS API credentials.",
            ),
        ],
    ),
    core.struct(
        "CSIVolumeSource",
        "An ephemeral volume provided by a CSI driver.",
        [
            f("driver", STRING, "Name of the CSI driver."),
            f("readOnly", BOOL, "Mount read-only. Defaults to false."),
            f("fsType", STRING, "Filesystem type, e.g. ext4."),
            f("volumeAttributes", map_of(STRING), "Driver-specific settings."),
            f(
                "nodePublishSecretRef",
                core.ref("LocalObjectReference"),
                "Secret with data the driver needs to publish the volume.",
            ),
        ],
        required=("driver",),
    ),
    core.struct(
        "EphemeralVolumeSource",
        "A volume whose PersistentVolumeClaim is created with the pod and deleted with it.",
        [
            f(
                "volumeClaimTemplate",
                core.ref("PersistentVolumeClaimTemplate"),
                "Template of the claim to create, named <pod>-<volume>.",
            ),
        ],
    ),
    core.struct(
        "PersistentVolumeClaimTemplate",
        "Template for a PersistentVolumeClaim.",
        [
            f("metadata", meta.ref("ObjectMeta"), "Labels and annotations copied to the claim."),
            f("spec", core.ref("PersistentVolumeClaimSpec"), "Spec of the claim."),
        ],
        required=("spec",),
    ),
    core.struct(
        "PersistentVolumeClaimSpec",
        "What storage a claim asks for.",
        [
            f(
                "accessModes",
                list_of(enum("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")),
                "Access modes wanted, e.g. ReadWriteOnce.",
                list_type="atomic",
            ),
            f(
                "selector",
                meta.ref("LabelSelector"),
                "Label query over the volumes that may be bound.",
            ),
            f(
                "resources",
                core.ref("VolumeResourceRequirements"),
                "Minimum (and optionally maximum) storage wanted.",
            ),
            f("volumeName", STRING, "Name of a specific PersistentVolume to bind to."),
            f("storageClassName", STRING, "StorageClass to provision from."),
            f("volumeMode", enum("Block", "Filesystem"), "Filesystem (default) or Block."),
            f(
                "dataSource",
                core.ref("TypedLocalObjectReference"),
                "An existing object, such as a VolumeSnapshot or PVC, to fill the volume from.",
            ),
            f(
                "dataSourceRef",
                core.ref("TypedObjectReference"),
                "Like dataSource, but also allows custom objects and other namespaces.",
            ),
            f("volumeAttributesClassName", STRING, "VolumeAttributesClass to use for the claim."),
        ],
    ),
    core.struct(
        "VolumeResourceRequirements",
        "Storage wanted by a claim.",
        [
            f("limits", map_of(QUANTITY), "Maximum amount of each resource."),
            f("requests", map_of(QUANTITY), "Minimum amount of each resource."),
        ],
    ),
    core.struct(
        "TypedLocalObjectReference",
        "A reference to an object of a given kind in the same namespace.",
        [
            f("apiGroup", STRING, "API group of the referent; empty for the core group."),
            f("kind", STRING, "Kind of the referent."),
            f("name", STRING, "Name of the referent."),
        ],
        required=("kind", "name"),
        atomic=True,
    ),
    core.struct(
        "TypedObjectReference",
        "A reference to an object of a given kind, possibly in another namespace.",
        [
            f("apiGroup", STRING, "API group of the referent; empty for the core group."),
            f("kind", STRING, "Kind of the referent."),
            f("name", STRING, "Name of the referent."),
            f("namespace", STRING, "Namespace of the referent, when different from the claim's."),
        ],
        required=("kind", "name"),
    ),
    core.struct(
        "ImageVolumeSource",
        "An OCI image or artifact mounted as a volume.",
        [
            f("reference", STRING, "Image or artifact reference to pull."),
            f(
                "pullPolicy",
                enum("Always", "IfNotPresent", "Never"),
                "When to pull: Always, IfNotPresent or Never.",
            ),
        ],
    ),
)

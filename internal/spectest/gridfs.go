package spectest

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func hexSource(a *args) ([]byte, error) {
	src, err := a.requiredDoc("source")
	if err != nil {
		return nil, err
	}
	if len(src) != 1 || src[0].Key != "$$hexBytes" {
		return nil, fmt.Errorf("source must be {$$hexBytes: <string>}")
	}
	s, ok := src[0].Value.(string)
	if !ok {
		return nil, fmt.Errorf("$$hexBytes must be a string")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("malformed $$hexBytes %q: %w", s, err)
	}
	return b, nil
}

func bucketOp(ctx context.Context, b *mongo.GridFSBucket, name string, a *args) (opResult, error) {
	switch name {
	case "upload", "uploadWithId":
		filename, err := a.str("filename", true)
		if err != nil {
			return opResult{}, err
		}
		data, err := hexSource(a)
		if err != nil {
			return opResult{}, err
		}
		o := options.GridFSUpload()
		if n, has, err := a.integer("chunkSizeBytes"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetChunkSizeBytes(int32(n))
		}
		if d, has, err := a.doc("metadata"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetMetadata(d)
		}
		// disableMD5 only concerns drivers that computed MD5; the Go driver never does.
		if _, err := a.boolean("disableMD5"); err != nil {
			return opResult{}, err
		}
		if _, has := a.get("contentType"); has {
			return opResult{}, skipf("GridFS upload contentType (deprecated, not in Go driver)")
		}
		if _, has := a.get("aliases"); has {
			return opResult{}, skipf("GridFS upload aliases (deprecated, not in Go driver)")
		}
		if name == "uploadWithId" {
			id, has := a.get("id")
			if !has {
				return opResult{}, fmt.Errorf("missing required argument \"id\"")
			}
			if err := a.finish("session"); err != nil {
				return opResult{}, err
			}
			return failed(nil, b.UploadFromStreamWithID(ctx, id, filename, bytes.NewReader(data), o))
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		id, err := b.UploadFromStream(ctx, filename, bytes.NewReader(data), o)
		if err != nil {
			return failed(nil, err)
		}
		return ok(id)
	case "download":
		id, has := a.get("id")
		if !has {
			return opResult{}, fmt.Errorf("missing required argument \"id\"")
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		ds, err := b.OpenDownloadStream(ctx, id)
		if err != nil {
			return failed(nil, err)
		}
		return readAll(ds)
	case "downloadByName":
		filename, err := a.str("filename", true)
		if err != nil {
			return opResult{}, err
		}
		o := options.GridFSName()
		if n, has, err := a.integer("revision"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetRevision(int32(n))
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		ds, err := b.OpenDownloadStreamByName(ctx, filename, o)
		if err != nil {
			return failed(nil, err)
		}
		return readAll(ds)
	case "delete":
		id, has := a.get("id")
		if !has {
			return opResult{}, fmt.Errorf("missing required argument \"id\"")
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, b.Delete(ctx, id))
	case "rename":
		id, has := a.get("id")
		if !has {
			return opResult{}, fmt.Errorf("missing required argument \"id\"")
		}
		nn, err := a.str("newFilename", true)
		if err != nil {
			return opResult{}, err
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, b.Rename(ctx, id, nn))
	case "drop":
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		return failed(nil, b.Drop(ctx))
	case "find":
		filter, err := a.requiredDoc("filter")
		if err != nil {
			return opResult{}, err
		}
		o := options.GridFSFind()
		if d, has, err := a.doc("sort"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetSort(d)
		}
		if n, has, err := a.integer("limit"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetLimit(int32(n))
		}
		if n, has, err := a.integer("skip"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetSkip(int32(n))
		}
		if n, has, err := a.integer("batchSize"); err != nil {
			return opResult{}, err
		} else if has {
			o.SetBatchSize(int32(n))
		}
		if err := a.finish("session"); err != nil {
			return opResult{}, err
		}
		cur, err := b.Find(ctx, filter, o)
		if err != nil {
			return failed(nil, err)
		}
		docs, err := drain(ctx, cur)
		return failed(docs, err)
	}
	return opResult{}, fmt.Errorf("unsupported bucket operation %q", name)
}

func readAll(ds *mongo.GridFSDownloadStream) (opResult, error) {
	defer func() { _ = ds.Close() }()
	data, err := io.ReadAll(ds)
	if err != nil {
		return failed(nil, err)
	}
	if data == nil {
		data = []byte{}
	}
	return ok(bson.Binary{Data: data})
}

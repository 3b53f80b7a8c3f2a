/*
 * pipe.c — anonymous pipes.
 *
 * A pipe is a PIPE_SIZE-byte ring buffer behind one FIFO vnode (with no
 * mount and no name) and two open file descriptions: the read end and the
 * write end. The ring, its counters and the number of open ends are
 * protected by pipe->lock; sleepers wait on `readable`/`writable` through
 * waitq_sleep(), which drops the lock while asleep.
 *
 *   read   blocks until at least one byte is buffered; returns what is there
 *          (up to n); returns 0 (end of file) once every write end is closed
 *          and the buffer is empty.
 *   write  blocks until all n bytes are in the buffer; -EPIPE (or the count
 *          written so far) once every read end is closed.
 *   Both return -EINTR when the calling process is killed while waiting.
 */
#include <fs.h>
#include <axiom/errno.h>

#define PIPE_SIZE 4096u

struct pipe {
	struct spinlock lock;
	struct waitq readable;           /* data arrived or writers went away */
	struct waitq writable;           /* room appeared or readers went away */
	size_t rpos;                     /* index of the oldest byte */
	size_t count;                    /* bytes buffered */
	int readers, writers;            /* open ends */
	char buf[PIPE_SIZE];
};

static long pipe_read(struct file *f, void *kbuf, size_t n, uint64_t *off)
{
	struct pipe *p = f->vn->priv;
	size_t done = 0;

	if (n == 0)
		return 0;
	spin_lock(&p->lock);
	while (p->count == 0) {
		if (p->writers == 0) {
			spin_unlock(&p->lock);
			return 0;
		}
		if (current_killed()) {
			spin_unlock(&p->lock);
			return -EINTR;
		}
		waitq_sleep(&p->readable, &p->lock);
	}
	while (done < n && p->count > 0) {
		size_t chunk = MIN(n - done, MIN(p->count, PIPE_SIZE - p->rpos));

		memcpy((char *)kbuf + done, p->buf + p->rpos, chunk);
		p->rpos = (p->rpos + chunk) % PIPE_SIZE;
		p->count -= chunk;
		done += chunk;
	}
	waitq_wake_all(&p->writable);
	spin_unlock(&p->lock);
	return (long)done;
}

static bool pipe_read_ready(struct file *f)
{
	struct pipe *p = f->vn->priv;
	bool ready;

	spin_lock(&p->lock);
	ready = p->count > 0;
	spin_unlock(&p->lock);
	return ready;
}

static long pipe_write(struct file *f, const void *kbuf, size_t n, uint64_t *off)
{
	struct pipe *p = f->vn->priv;
	size_t done = 0;
	long err = 0;

	spin_lock(&p->lock);
	while (done < n) {
		size_t wpos, chunk;

		if (p->readers == 0) {
			err = -EPIPE;
			break;
		}
		if (p->count == PIPE_SIZE) {
			if (current_killed()) {
				err = -EINTR;
				break;
			}
			waitq_sleep(&p->writable, &p->lock);
			continue;
		}
		wpos = (p->rpos + p->count) % PIPE_SIZE;
		chunk = MIN(n - done, MIN(PIPE_SIZE - p->count, PIPE_SIZE - wpos));
		memcpy(p->buf + wpos, (const char *)kbuf + done, chunk);
		p->count += chunk;
		done += chunk;
		waitq_wake_all(&p->readable);
	}
	spin_unlock(&p->lock);
	return done ? (long)done : err;
}

static void pipe_release_read(struct file *f)
{
	struct pipe *p = f->vn->priv;

	spin_lock(&p->lock);
	p->readers--;
	waitq_wake_all(&p->writable);
	spin_unlock(&p->lock);
}

static void pipe_release_write(struct file *f)
{
	struct pipe *p = f->vn->priv;

	spin_lock(&p->lock);
	p->writers--;
	waitq_wake_all(&p->readable);
	spin_unlock(&p->lock);
}

static const struct file_ops pipe_read_fops = {
	.read = pipe_read,
	.read_ready = pipe_read_ready,
	.release = pipe_release_read,
	.flags = FOPS_READ_ONCE,
};

static const struct file_ops pipe_write_fops = {
	.write = pipe_write,
	.release = pipe_release_write,
};

static void pipe_getattr(struct vnode *vn, struct ax_stat *st)
{
	struct pipe *p = vn->priv;

	spin_lock(&p->lock);
	st->st_size = p->count;
	spin_unlock(&p->lock);
	st->st_nlink = 1;
}

static void pipe_vnode_release(struct vnode *vn)
{
	kfree(vn->priv);
}

static const struct vnode_ops pipe_vops = {
	.getattr = pipe_getattr,
	.release = pipe_vnode_release,
};

int pipe_create(struct file **rd, struct file **wr)
{
	struct pipe *p = kzalloc(sizeof(*p));
	struct vnode *vn;
	struct file *r, *w;

	if (!p)
		return -ENOMEM;
	spin_init(&p->lock, "pipe");
	waitq_init(&p->readable);
	waitq_init(&p->writable);
	vn = vnode_alloc(NULL, VNODE_FIFO, 0600, &pipe_vops, p);
	if (!vn) {
		kfree(p);
		return -ENOMEM;
	}
	r = file_alloc(vn, O_RDONLY);
	w = file_alloc(vn, O_WRONLY);
	vnode_put(vn);                    /* the two files hold it now */
	if (!r || !w) {
		/* ops are still NULL: releasing does not touch the counters */
		file_put(r);
		file_put(w);
		return -ENOMEM;
	}
	r->ops = &pipe_read_fops;
	w->ops = &pipe_write_fops;
	p->readers = 1;
	p->writers = 1;
	*rd = r;
	*wr = w;
	return 0;
}
